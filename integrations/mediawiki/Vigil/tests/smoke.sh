#!/usr/bin/env bash
# End-to-end smoke test of the Vigil extension: a real MediaWiki 1.39 (Debian's
# package, SQLite, php -S) and a real `vigil serve` on this machine.
#
# Needs: apt-get install mediawiki php-cli php-sqlite3 php-intl php-mbstring php-xml
# (see docs/mediawiki-local.md), Go, curl. Run from anywhere:
#   integrations/mediawiki/Vigil/tests/smoke.sh
# Ports: VIGIL_PORT (default 18780) and MW_PORT (default 18080). KEEP=1 keeps the temp dir.
#
# @license GPL-2.0-or-later
set -euo pipefail

EXT_DIR=$(cd "$(dirname "$0")/.." && pwd)
REPO=$(cd "$EXT_DIR/../../.." && pwd)
VIGIL_PORT=${VIGIL_PORT:-18780}
MW_PORT=${MW_PORT:-18080}
T=$(mktemp -d /tmp/vigil-smoke.XXXXXX)
MW=$T/mw
V=http://127.0.0.1:$VIGIL_PORT
API=http://127.0.0.1:$MW_PORT/api.php
VIGIL_PID= PHP_PID=
FAILS=0

cleanup() {
	if [ -n "$PHP_PID" ]; then
		# php -S with workers: end the children, then the parent (by PID).
		for c in $(pgrep -P "$PHP_PID" || true); do kill "$c" 2>/dev/null || true; done
		kill "$PHP_PID" 2>/dev/null || true
	fi
	if [ -n "$VIGIL_PID" ]; then kill "$VIGIL_PID" 2>/dev/null || true; fi
	wait 2>/dev/null || true
	if [ "${KEEP:-}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }
ok() { printf '  ok   %s\n' "$*"; }
bad() { printf '  FAIL %s\n' "$*"; FAILS=$((FAILS + 1)); }
# expect NAME PATTERN TEXT: TEXT contains the fixed string PATTERN.
expect() { if grep -qF -- "$2" <<<"$3"; then ok "$1"; else bad "$1: no '$2' in: ${3:0:400}"; fi; }

start_vigil() {
	"$T/vigil" serve --config "$T/vigil.yaml" --data "$T/vigil-data" --listen "127.0.0.1:$VIGIL_PORT" \
		>>"$T/vigil.out" 2>>"$T/vigil.err" &
	VIGIL_PID=$!
	for _ in $(seq 50); do curl -sf "$V/healthz" >/dev/null && return; sleep 0.1; done
	echo "vigil did not start"; cat "$T/vigil.err"; exit 1
}
stop_vigil() { kill "$VIGIL_PID"; wait "$VIGIL_PID" 2>/dev/null || true; VIGIL_PID=; }

say "build and start Vigil"
(cd "$REPO" && go build -o "$T/vigil" ./cmd/vigil)
printf 'wikis:\n  demowiki:\n    sitename: TestWiki\n' >"$T/vigil.yaml"
start_vigil
ADMIN=$(cat "$T/vigil-data/admin-token")
"$T/vigil" token create --name mediawiki --scopes screen,manage-blocks --data "$T/vigil-data" >"$T/screen-token"
filter() {
	curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d "$1" "$V/v1/filters" >/dev/null
}
# The sample filters (1 casino spam: disallow+tag spam; 2 shouting: warn+tag shouting; ...) plus:
filter '{"wiki":"demowiki","name":"Block test","pattern":"added_lines irlike \"blockme-please\"","enabled":true,"actions":{"block":["noTalkBlockSet","1 day","1 day"]}}'
filter '{"wiki":"demowiki","name":"No moves to Forbidden","pattern":"action == \"move\" & moved_to_title rlike \"Forbidden\"","enabled":true,"actions":{"disallow":[]}}'
filter '{"wiki":"demowiki","name":"Spammer account names","pattern":"action == \"createaccount\" & account_name irlike \"spammer\"","enabled":true,"actions":{"disallow":[]}}'
filter '{"wiki":"demowiki","name":"Tag test","pattern":"added_lines irlike \"tagme\"","enabled":true,"actions":{"tag":["vigil-test-tag"]}}'
filter '{"wiki":"demowiki","name":"No vandal deletions","pattern":"action == \"delete\" & summary irlike \"vandal\"","enabled":true,"actions":{"disallow":[]}}'
filter '{"wiki":"demowiki","name":"Tag new accounts","pattern":"action == \"createaccount\" & account_name irlike \"tagged\"","enabled":true,"actions":{"tag":["vigil-newaccount"]}}'

say "install MediaWiki"
mkdir -p "$MW/data" "$MW/images" "$MW/cache"
export MW_CONFIG_FILE=$MW/LocalSettings.php
(cd /usr/share/mediawiki && php maintenance/install.php --confpath="$MW" --dbtype=sqlite --dbpath="$MW/data" \
	--dbname=my_wiki --server="http://127.0.0.1:$MW_PORT" --scriptpath="" --lang=en \
	--pass='Adm1nPassw0rd!2024' "TestWiki" "Admin" >"$T/install.log")
cat >>"$MW/LocalSettings.php" <<EOF
\$wgUploadDirectory = "$MW/images"; \$wgCacheDirectory = "$MW/cache"; \$wgUseImageMagick = false;
\$wgShowExceptionDetails = true;
\$wgRateLimits['edit']['anon'] = [ 1000, 60 ];
\$wgDebugLogGroups['Vigil'] = "$MW/vigil.log";
wfLoadExtension( 'Vigil', '$EXT_DIR/extension.json' );
\$wgVigilUrl = '$V';
\$wgVigilToken = trim( file_get_contents( '$T/screen-token' ) );
\$wgVigilWikiId = 'demowiki';
\$wgVigilTimeout = 1.0;
\$wgVigilFailMode = trim( (string)@file_get_contents( '$MW/failmode' ) ) ?: 'open';
EOF
PHP_CLI_SERVER_WORKERS=4 php -S "127.0.0.1:$MW_PORT" -t /usr/share/mediawiki >"$T/php.out" 2>"$T/php.err" &
PHP_PID=$!
for _ in $(seq 50); do curl -sf "$API?action=query&format=json" >/dev/null && break; sleep 0.1; done

# anon_edit TITLE TEXT: an anonymous API edit (CSRF token "+\"), cookies in $T/anon.
anon_edit() {
	curl -s -b "$T/anon" -c "$T/anon" "$API" --data-urlencode action=edit --data-urlencode "title=$1" \
		--data-urlencode "text=$2" --data-urlencode summary=smoke --data-urlencode 'token=+\' \
		--data-urlencode format=json --data-urlencode formatversion=2 --data-urlencode errorformat=plaintext
}
# json_field NAME: the string value of NAME in compact JSON on stdin (tokens end in "+\\").
json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" | sed 's/\\\\/\\/g'; }
last_rc() {
	curl -s "$API?action=query&list=recentchanges&rcprop=title|tags|user|loginfo&rclimit=1&format=json&formatversion=2"
}
admin_login() {
	local lt
	lt=$(curl -s -b "$T/admin" -c "$T/admin" "$API?action=query&meta=tokens&type=login&format=json" | json_field logintoken)
	curl -s -b "$T/admin" -c "$T/admin" "$API" --data-urlencode action=clientlogin --data-urlencode username=Admin \
		--data-urlencode 'password=Adm1nPassw0rd!2024' --data-urlencode "loginreturnurl=http://127.0.0.1:$MW_PORT/" \
		--data-urlencode "logintoken=$lt" --data-urlencode format=json >/dev/null
	CSRF=$(curl -s -b "$T/admin" -c "$T/admin" "$API?action=query&meta=tokens&format=json" | json_field csrftoken)
}
admin_post() { curl -s -b "$T/admin" -c "$T/admin" "$API" "$@" --data-urlencode "token=$CSRF" \
	--data-urlencode format=json --data-urlencode formatversion=2 --data-urlencode errorformat=plaintext; }

say "an anonymous edit adding spam is refused with the filter's message"
r=$(anon_edit Sandbox 'Visit our online casino today')
expect "API error code" '"code":"abusefilter-disallowed"' "$r"
expect "message names the filter" 'matched: Casino and pharmacy spam' "$r"
expect "error data names the filter" '"vigil":{"filter":"1"' "$r"

say "a warn filter warns, then the resubmission is saved, with the filter's tag"
r=$(anon_edit Shout 'HELLOOOOOOOOOOOOOOOOOOOOOOOOOOOO everyone')
expect "first submission warned" '"code":"abusefilter-warning"' "$r"
r=$(anon_edit Shout 'HELLOOOOOOOOOOOOOOOOOOOOOOOOOOOO everyone')
expect "resubmission saved" '"result":"Success"' "$r"
expect "recent change tagged" '"tags":["shouting"]' "$(last_rc)"

say "a tag-only filter tags the recent change"
r=$(anon_edit Tagged 'please tagme')
expect "saved" '"result":"Success"' "$r"
expect "recent change tagged" '"tags":["vigil-test-tag"]' "$(last_rc)"
expect "tag declared (ListDefinedTags)" '"name":"vigil-test-tag","defined":true' \
	"$(curl -s "$API?action=query&list=tags&tgprop=defined&tglimit=500&format=json&formatversion=2")"

say "account creation is screened"
create_account() {
	local tok
	rm -f "$T/new"
	tok=$(curl -s -b "$T/new" -c "$T/new" "$API?action=query&meta=tokens&type=createaccount&format=json" | json_field createaccounttoken)
	curl -s -b "$T/new" -c "$T/new" "$API" --data-urlencode action=createaccount --data-urlencode "username=$1" \
		--data-urlencode 'password=Sup3rS3cret!pw' --data-urlencode 'retype=Sup3rS3cret!pw' \
		--data-urlencode "createreturnurl=http://127.0.0.1:$MW_PORT/" --data-urlencode "createtoken=$tok" \
		--data-urlencode format=json --data-urlencode formatversion=2
}
r=$(create_account Spammer123)
expect "refused" '"status":"FAIL"' "$r"
expect "with the disallow code" '"messagecode":"abusefilter-disallowed"' "$r"
r=$(create_account TaggedUser)
expect "allowed" '"status":"PASS"' "$r"
expect "newusers entry tagged" '"tags":["vigil-newaccount"]' "$(last_rc)"

say "moves are screened"
admin_login
admin_post --data-urlencode action=edit --data-urlencode title=AdminPage --data-urlencode 'text=admin text' >/dev/null
r=$(admin_post --data-urlencode action=move --data-urlencode from=AdminPage --data-urlencode to=ForbiddenPlace --data-urlencode reason=smoke)
expect "move to Forbidden* refused" '"code":"abusefilter-disallowed"' "$r"
r=$(admin_post --data-urlencode action=move --data-urlencode from=AdminPage --data-urlencode to=AllowedPlace --data-urlencode reason=smoke)
expect "other move done" '"to":"AllowedPlace"' "$r"

say "deletions are screened"
r=$(admin_post --data-urlencode action=delete --data-urlencode title=Tagged --data-urlencode 'reason=vandalism')
expect "deletion refused" '"code":"abusefilter-disallowed"' "$r"
r=$(admin_post --data-urlencode action=delete --data-urlencode title=Tagged --data-urlencode 'reason=cleanup')
expect "other deletion done" '"delete":{"title":"Tagged"' "$r"

say "web form (index.php action=submit): warned, then saved on resubmission"
web_edit() {
	local page tok st
	page=$(curl -s -b "$T/admin" -c "$T/admin" "http://127.0.0.1:$MW_PORT/index.php?title=$1&action=edit")
	tok=$(grep -o 'value="[^"]*" name="wpEditToken"' <<<"$page" | sed 's/^value="//; s/" name=.*//')
	st=$(grep -o 'value="[0-9]*" name="wpStarttime"' <<<"$page" | grep -o '[0-9]\{14\}')
	curl -s -b "$T/admin" -c "$T/admin" -o "$T/web.html" -w '%{http_code}' \
		"http://127.0.0.1:$MW_PORT/index.php?title=$1&action=submit" --data-urlencode "wpTextbox1=$2" \
		--data-urlencode "wpEditToken=$tok" --data-urlencode "wpStarttime=$st" --data-urlencode "wpEdittime=$st" \
		--data-urlencode 'wpUnicodeCheck=ℳ𝒲♥𝓊𝓃𝒾𝒸ℴ𝒹ℯ' --data-urlencode wpUltimateParam=1 --data-urlencode wpSave=Save
}
code=$(web_edit WebShout 'WEBSHOUTINGGGGGGGGGGGGGGGGGGGGGGGGG')
expect "form shown again (200) with the warning" '200 possibly harmful' "$code $(grep -o 'possibly harmful' "$T/web.html" | head -1)"
code=$(web_edit WebShout 'WEBSHOUTINGGGGGGGGGGGGGGGGGGGGGGGGG')
expect "resubmission saved (302)" '302' "$code"

say "Vigil stopped: fail open, then fail closed"
stop_vigil
r=$(anon_edit FailOpen 'saved although Vigil is down')
expect "fail open: saved" '"result":"Success"' "$r"
echo closed >"$MW/failmode"
r=$(anon_edit FailClosed 'refused because Vigil is down')
expect "fail closed: refused" '"code":"vigil-unavailable"' "$r"
rm -f "$MW/failmode"
start_vigil

say "a block filter blocks; MediaWiki itself refuses the next edit"
r=$(anon_edit BlockPage 'blockme-please')
expect "refused with the block message" 'your account or IP address has been blocked' "$r"
r=$(anon_edit Innocent 'an innocent edit')
expect "next edit refused by MediaWiki" '"code":"blocked"' "$r"
expect "block placed by the Vigil user" '"blockedby":"Vigil"' "$r"

say "no PHP errors"
if grep -E 'PHP (Fatal|Warning|Notice|Deprecated)|Exception' "$T/php.err" >/dev/null; then
	bad "php -S log has errors:"; grep -E 'PHP |Exception' "$T/php.err" | head
else
	ok "php -S log clean"
fi

echo
if [ "$FAILS" -gt 0 ]; then echo "$FAILS check(s) failed"; KEEP=1; exit 1; fi
echo "all checks passed"
