<?php
/**
 * @license GPL-2.0-or-later
 * @file
 */

namespace MediaWiki\Extension\Vigil;

use MediaWiki\Permissions\PermissionManager;
use MediaWiki\Permissions\RestrictionStore;
use MediaWiki\Revision\RevisionLookup;
use MediaWiki\Revision\RevisionRecord;
use MediaWiki\User\UserGroupManager;
use MediaWiki\User\UserNameUtils;
use Psr\Log\LoggerInterface;
use Throwable;
use Wikimedia\Rdbms\ILoadBalancer;

/**
 * Turns what MediaWiki knows of an action into the parts of Vigil's action
 * payload: the performer, pages, texts. Only what is cheap: no parse
 * (unless asked), one query for the first revision and one for the recent
 * contributors of an existing page.
 */
class PayloadBuilder {
	/** Restriction types Vigil accepts in page.restrictions. */
	private const RESTRICTION_TYPES = [ 'edit', 'move', 'create', 'upload' ];

	/** @var UserGroupManager */
	private $userGroupManager;
	/** @var PermissionManager */
	private $permissionManager;
	/** @var UserNameUtils */
	private $userNameUtils;
	/** @var RestrictionStore */
	private $restrictionStore;
	/** @var RevisionLookup */
	private $revisionLookup;
	/** @var ILoadBalancer */
	private $loadBalancer;
	/** @var LoggerInterface */
	private $logger;

	public function __construct(
		UserGroupManager $userGroupManager,
		PermissionManager $permissionManager,
		UserNameUtils $userNameUtils,
		RestrictionStore $restrictionStore,
		RevisionLookup $revisionLookup,
		ILoadBalancer $loadBalancer,
		LoggerInterface $logger
	) {
		$this->userGroupManager = $userGroupManager;
		$this->permissionManager = $permissionManager;
		$this->userNameUtils = $userNameUtils;
		$this->restrictionStore = $restrictionStore;
		$this->revisionLookup = $revisionLookup;
		$this->loadBalancer = $loadBalancer;
		$this->logger = $logger;
	}

	/**
	 * The action with its old_wikitext replaced by old_wikitext_delta, the
	 * old text told by what it shares with new_wikitext (its first `start`
	 * bytes, then `middle`, then its last `end` bytes), when that leaves out
	 * at least half of it: most edits change a small part of a page, and the
	 * request then carries the page once rather than twice. new_pst, when
	 * sent, likewise as new_pst_delta: the pre-save transform leaves most of
	 * a text as it is. Otherwise the action as it is. The offsets hold for
	 * texts that are valid UTF-8 (see Client::encode, which falls back to the
	 * whole texts otherwise).
	 *
	 * @param array $action Vigil's action payload
	 * @return array
	 */
	public static function compactTexts( array $action ): array {
		return self::compactText( self::compactText( $action, 'old_wikitext' ), 'new_pst' );
	}

	/**
	 * The action with its $field told as a delta from new_wikitext, when
	 * that leaves out at least half of it (see compactTexts).
	 *
	 * @param array $action
	 * @param string $field old_wikitext or new_pst
	 * @return array
	 */
	private static function compactText( array $action, string $field ): array {
		$text = $action[$field] ?? null;
		$new = $action['new_wikitext'] ?? null;
		if ( !is_string( $text ) || !is_string( $new ) || $text === '' ) {
			return $action;
		}
		$len = strlen( $text );
		$n = min( $len, strlen( $new ) );
		$start = self::sharedBytes( $text, $new, $n, false );
		$end = self::sharedBytes( $text, $new, $n - $start, true );
		// Cut at character boundaries: both texts agree on the bytes around
		// a cut, so a boundary of one is a boundary of the other.
		while ( $start > 0 && $start < $len && ( ord( $text[$start] ) & 0xC0 ) === 0x80 ) {
			$start--;
		}
		while ( $end > 0 && $end < $len && ( ord( $text[$len - $end] ) & 0xC0 ) === 0x80 ) {
			$end--;
		}
		$middle = (string)substr( $text, $start, $len - $start - $end );
		if ( 2 * strlen( $middle ) > $len ) {
			return $action;
		}
		unset( $action[$field] );
		$action[$field . '_delta'] = [ 'start' => $start, 'middle' => $middle, 'end' => $end ];
		return $action;
	}

	/**
	 * How many bytes $a and $b share at their start (or, with $fromEnd, at
	 * their end), at most $max: compared a block at a time with
	 * substr_compare (memcmp), and the first differing block halved until its
	 * first differing byte. A byte at a time in PHP, or through the strings'
	 * XOR, took several times as long for a page.
	 *
	 * @param string $a
	 * @param string $b
	 * @param int $max
	 * @param bool $fromEnd
	 * @return int
	 */
	private static function sharedBytes( string $a, string $b, int $max, bool $fromEnd ): int {
		$la = strlen( $a );
		$lb = strlen( $b );
		$n = 0;
		$block = 4096;
		while ( $n < $max ) {
			$len = min( $block, $max - $n );
			$equal = $fromEnd
				? substr_compare( $a, substr( $b, $lb - $n - $len, $len ), $la - $n - $len, $len ) === 0
				: substr_compare( $a, substr( $b, $n, $len ), $n, $len ) === 0;
			if ( $equal ) {
				$n += $len;
			} elseif ( $len === 1 ) {
				break;
			} else {
				$block = $len >> 1;
			}
		}
		return $n;
	}

	/**
	 * A MediaWiki timestamp as RFC 3339, or null.
	 *
	 * @param string|int|null|false $ts
	 * @return string|null
	 */
	public static function time( $ts ): ?string {
		if ( $ts === null || $ts === false || $ts === '' ) {
			return null;
		}
		$unix = wfTimestamp( TS_UNIX, $ts );
		if ( $unix === false ) {
			return null;
		}
		return gmdate( 'Y-m-d\TH:i:s\Z', (int)$unix );
	}

	/**
	 * The performer: name, id, type (named, temp or ip), groups, rights,
	 * edit count, registration, blocked, email confirmation.
	 *
	 * @param \User|\MediaWiki\User\User $user
	 * @return array
	 */
	public function performer( $user ): array {
		$name = $user->getName();
		$p = [ 'name' => $name, 'id' => (int)$user->getId() ];
		if ( !$user->isRegistered() ) {
			$p['type'] = 'ip';
		} elseif ( $this->userNameUtils->isTemp( $name ) ) {
			$p['type'] = 'temp';
		} else {
			$p['type'] = 'named';
		}
		$p['groups'] = array_values( array_unique( $this->userGroupManager->getUserEffectiveGroups( $user ) ) );
		$p['rights'] = array_values( array_unique( $this->permissionManager->getUserPermissions( $user ) ) );
		if ( $user->isRegistered() ) {
			$p['edit_count'] = (int)$user->getEditCount();
			$reg = self::time( $user->getRegistration() );
			if ( $reg !== null ) {
				$p['registration'] = $reg;
			}
			$confirmed = self::time( $user->getEmailAuthenticationTimestamp() );
			if ( $confirmed !== null ) {
				$p['email_confirmed'] = $confirmed;
			}
		}
		try {
			$p['blocked'] = $user->getBlock() !== null;
		} catch ( Throwable $e ) {
			$this->logger->warning( 'Vigil: could not read the block of {user}: {msg}',
				[ 'user' => $name, 'msg' => $e->getMessage() ] );
		}
		return $p;
	}

	/**
	 * A page as it is before the action: id (0 when it does not exist),
	 * namespace, title without the namespace, restrictions, and for an
	 * existing page its creation time, first contributor and last ten
	 * distinct contributors.
	 *
	 * @param \Title|\MediaWiki\Title\Title $title
	 * @param bool $history also the page's history (creation, contributors)
	 * @return array
	 */
	public function page( $title, bool $history = true ): array {
		$id = $title->canExist() ? (int)$title->getArticleID() : 0;
		$p = [
			'id' => $id,
			'namespace' => (int)$title->getNamespace(),
			'title' => $title->getText(),
		];
		if ( !$title->canExist() ) {
			return $p;
		}
		try {
			$restrictions = [];
			foreach ( $this->restrictionStore->getAllRestrictions( $title ) as $type => $levels ) {
				$levels = array_values( array_filter( (array)$levels, static function ( $l ) {
					return is_string( $l ) && trim( $l ) !== '';
				} ) );
				if ( in_array( $type, self::RESTRICTION_TYPES, true ) && $levels ) {
					$restrictions[$type] = $levels;
				}
			}
			// An object even when empty: "no restrictions" is known.
			$p['restrictions'] = $restrictions ?: new \stdClass();
		} catch ( Throwable $e ) {
			$this->logger->warning( 'Vigil: restrictions of {title} unknown: {msg}',
				[ 'title' => $title->getPrefixedText(), 'msg' => $e->getMessage() ] );
		}
		if ( !$history || $id === 0 ) {
			return $p;
		}
		try {
			$first = $this->revisionLookup->getFirstRevision( $title );
			if ( $first ) {
				$created = self::time( $first->getTimestamp() );
				if ( $created !== null ) {
					$p['created'] = $created;
				}
				$author = $first->getUser( RevisionRecord::RAW );
				if ( $author ) {
					$p['first_contributor'] = $author->getName();
				}
			}
			$recent = $this->recentContributors( $id );
			if ( $recent ) {
				$p['recent_contributors'] = $recent;
			}
		} catch ( Throwable $e ) {
			$this->logger->warning( 'Vigil: history of {title} unknown: {msg}',
				[ 'title' => $title->getPrefixedText(), 'msg' => $e->getMessage() ] );
		}
		return $p;
	}

	/**
	 * The last ten distinct contributors of a page, newest first, among
	 * its last 100 revisions (as AbuseFilter's page_recent_contributors).
	 *
	 * @param int $pageId
	 * @return string[]
	 */
	private function recentContributors( int $pageId ): array {
		$dbr = $this->loadBalancer->getConnection( DB_REPLICA );
		$names = $dbr->selectFieldValues(
			[ 'revision', 'actor' ],
			'actor_name',
			[ 'rev_page' => $pageId, 'rev_deleted' => 0 ],
			__METHOD__,
			[ 'ORDER BY' => [ 'rev_timestamp DESC', 'rev_id DESC' ], 'LIMIT' => 100 ],
			[ 'actor' => [ 'JOIN', 'actor_id = rev_actor' ] ]
		);
		$users = [];
		foreach ( $names as $name ) {
			$users[(string)$name] = true;
			if ( count( $users ) >= 10 ) {
				break;
			}
		}
		return array_keys( $users );
	}

	/**
	 * The text of a content object, as AbuseFilter reads it: the text of
	 * text content, the search text of anything else, with normalized line
	 * endings.
	 *
	 * @param \Content|\MediaWiki\Content\Content $content
	 * @return string
	 */
	public static function text( $content ): string {
		if ( method_exists( $content, 'getText' ) ) {
			$text = $content->getText();
		} else {
			$text = $content->getTextForSearchIndex();
		}
		return str_replace( [ "\r\n", "\r" ], "\n", rtrim( (string)$text ) );
	}

	/**
	 * Who sends the request: IP, user agent and the warn-once session key.
	 *
	 * The session key is an HMAC of the session id when the session is
	 * persistent (a cookie ties the next request to it); without one it is
	 * left out and Vigil falls back to the performer's name and IP, which
	 * stay the same across a resubmission (a session that is not persisted
	 * would change at each request and warn forever).
	 *
	 * @param \WebRequest|\MediaWiki\Request\WebRequest $request
	 * @param string $secret
	 * @return array
	 */
	public function requestFields( $request, string $secret ): array {
		$f = [];
		try {
			$ip = $request->getIP();
			if ( is_string( $ip ) && $ip !== '' ) {
				$f['ip'] = $ip;
			}
		} catch ( Throwable $e ) {
			// No IP (a misconfigured proxy); Vigil uses the performer's name.
		}
		$ua = $request->getHeader( 'User-Agent' );
		if ( is_string( $ua ) && $ua !== '' ) {
			$f['user_agent'] = mb_strcut( $ua, 0, 4096 );
		}
		try {
			$session = $request->getSession();
			if ( $session->isPersistent() ) {
				$f['session'] = hash_hmac( 'sha256', 'vigil-session:' . $session->getId(), $secret );
			}
		} catch ( Throwable $e ) {
			// No session: the fallback key.
		}
		return $f;
	}
}
