<?php
/**
 * @license GPL-2.0-or-later
 * @file
 */

namespace MediaWiki\Extension\Vigil;

use MediaWiki\Block\BlockUserFactory;
use MediaWiki\User\UserGroupManager;
use Psr\Log\LoggerInterface;
use StatusValue;
use Throwable;
use Wikimedia\IPUtils;

/**
 * Asks Vigil about an action and enforces the verdict: the messages of a
 * refusal (as API errors with AbuseFilter's codes), the fail mode when
 * Vigil cannot answer, the blocks, range blocks, degroups and autopromotion
 * blocks it decided, and the tags to put on the action's recent change.
 */
class Screener {
	/** The verdict's default AbuseFilter message keys, and the extension's own. */
	private const MESSAGE_KEYS = [
		'abusefilter-warning' => 'vigil-warning',
		'abusefilter-disallowed' => 'vigil-disallowed',
		'abusefilter-blocked-display' => 'vigil-blocked-display',
		'abusefilter-degrouped' => 'vigil-degrouped',
		'abusefilter-autopromote-blocked' => 'vigil-autopromote-blocked',
		'vigil-blocked' => 'vigil-blocked',
	];

	/** @var Client */
	private $client;
	/** @var PayloadBuilder */
	private $payload;
	/** @var \Config|\MediaWiki\Config\Config */
	private $config;
	/** @var BlockUserFactory */
	private $blockUserFactory;
	/** @var UserGroupManager */
	private $userGroupManager;
	/** @var \BagOStuff|\Wikimedia\ObjectCache\BagOStuff the main stash */
	private $stash;
	/** @var LoggerInterface */
	private $logger;

	/** @var array<string,string[]> tags of allowed actions, by action key, until their recent change is saved */
	private $pendingTags = [];

	public function __construct(
		Client $client,
		PayloadBuilder $payload,
		$config,
		BlockUserFactory $blockUserFactory,
		UserGroupManager $userGroupManager,
		$stash,
		LoggerInterface $logger
	) {
		$this->client = $client;
		$this->payload = $payload;
		$this->config = $config;
		$this->blockUserFactory = $blockUserFactory;
		$this->userGroupManager = $userGroupManager;
		$this->stash = $stash;
		$this->logger = $logger;
	}

	/**
	 * The wiki id Vigil knows this wiki by.
	 *
	 * @return string
	 */
	public function wikiId(): string {
		$id = $this->config->get( 'VigilWikiId' );
		if ( is_string( $id ) && trim( $id ) !== '' ) {
			return trim( $id );
		}
		return Compat::currentWikiId();
	}

	/**
	 * Whether Vigil's absence refuses actions.
	 *
	 * @return bool
	 */
	public function failsClosed(): bool {
		$mode = strtolower( trim( (string)$this->config->get( 'VigilFailMode' ) ) );
		return $mode === 'closed' || $mode === 'close';
	}

	/**
	 * Screen an action.
	 *
	 * @param array $action the action payload without wiki, group and request fields
	 * @param \User|\MediaWiki\User\User|null $performer who acts (for degroup and autopromotion blocks)
	 * @param \WebRequest|\MediaWiki\Request\WebRequest $request the request that carries the action
	 * @param string|null $tagKey where the verdict's tags wait for the recent change (see tagKey())
	 * @return StatusValue good to let the action happen; fatal with the messages to show otherwise
	 */
	public function screen( array $action, $performer, $request, ?string $tagKey ): StatusValue {
		try {
			$action = [
				'wiki' => $this->wikiId(),
				'group' => (string)( $this->config->get( 'VigilGroup' ) ?: 'default' ),
			] + $action + $this->payload->requestFields( $request, $this->secret() );
			$verdict = $this->client->screen( $action );
			if ( $verdict === null ) {
				return $this->unavailable( 'no verdict', $action['action'] ?? '' );
			}
			$this->enforce( $verdict, $performer, $action );
			if ( $verdict['allowed'] ) {
				if ( $tagKey !== null ) {
					$this->keepTags( $tagKey, $verdict['tags'] ?? [] );
				}
				return StatusValue::newGood();
			}
			return $this->refusal( $verdict );
		} catch ( Throwable $e ) {
			return $this->failure( $e, $action['action'] ?? '' );
		}
	}

	/**
	 * What a failure while preparing or screening an action leads to: the
	 * fail mode. Nothing reaches the user as an exception.
	 *
	 * @param Throwable $e
	 * @param string $action
	 * @return StatusValue
	 */
	public function failure( Throwable $e, string $action ): StatusValue {
		$this->logger->error( 'Vigil: screening a {vigil_action} failed: {exception_message}', [
			'vigil_action' => $action,
			'exception' => $e,
			'exception_message' => $e->getMessage(),
		] );
		return $this->unavailable( 'exception', $action );
	}

	/**
	 * The fail mode's answer.
	 *
	 * @param string $why
	 * @param string $action
	 * @return StatusValue
	 */
	private function unavailable( string $why, string $action ): StatusValue {
		if ( !$this->failsClosed() ) {
			$this->logger->warning( 'Vigil unavailable ({why}): the {vigil_action} is allowed (fail open)',
				[ 'why' => $why, 'vigil_action' => $action ] );
			return StatusValue::newGood();
		}
		$this->logger->warning( 'Vigil unavailable ({why}): the {vigil_action} is refused (fail closed)',
			[ 'why' => $why, 'vigil_action' => $action ] );
		return StatusValue::newFatal( Compat::apiMessage( wfMessage( 'vigil-unavailable' ), 'vigil-unavailable',
			[ 'vigil' => [ 'fail_mode' => 'closed' ] ] ) );
	}

	/**
	 * The messages of a refusal, each an API message with the verdict's
	 * code (abusefilter-warning or abusefilter-disallowed) and data naming
	 * the filter, as AbuseFilter's API errors do.
	 *
	 * @param array $verdict
	 * @return StatusValue
	 */
	private function refusal( array $verdict ): StatusValue {
		$actionsOf = [];
		$logIdOf = [];
		foreach ( (array)( $verdict['matches'] ?? [] ) as $m ) {
			if ( is_array( $m ) && isset( $m['filter'] ) ) {
				$actionsOf[(string)$m['filter']] = array_values( (array)( $m['actions'] ?? [] ) );
				if ( !empty( $m['log_id'] ) ) {
					$logIdOf[(string)$m['filter']] = (int)$m['log_id'];
				}
			}
		}
		$status = StatusValue::newGood();
		foreach ( (array)( $verdict['messages'] ?? [] ) as $m ) {
			if ( !is_array( $m ) ) {
				continue;
			}
			$params = array_map( 'strval', array_values( (array)( $m['params'] ?? [] ) ) );
			$consequence = (string)( $m['consequence'] ?? '' );
			$key = $this->messageKey( (string)( $m['key'] ?? '' ), $consequence );
			if ( $key === 'vigil-blocked' ) {
				$params = [ $params[0] ?? '', $this->expiryText( $params[1] ?? 'infinity' ) ];
			}
			$msg = wfMessage( $key )->plaintextParams( ...$params );
			$filter = (string)( $m['filter'] ?? '' );
			$code = (string)( $m['code'] ?? '' );
			if ( $code === '' ) {
				$code = $consequence === 'warn' ? 'abusefilter-warning' : 'abusefilter-disallowed';
			}
			$data = [
				'vigil' => [
					'filter' => $filter,
					'description' => $params[0] ?? '',
					'consequence' => $consequence,
					'actions' => $actionsOf[$filter] ?? [ $consequence ],
				],
			];
			if ( isset( $logIdOf[$filter] ) ) {
				$data['vigil']['log_id'] = $logIdOf[$filter];
			}
			if ( $filter !== '' ) {
				// The data AbuseFilter gives, for clients that read it.
				$data['abusefilter'] = [
					'id' => $filter,
					'description' => $params[0] ?? '',
					'actions' => $actionsOf[$filter] ?? [ $consequence ],
				];
			}
			$status->fatal( Compat::apiMessage( $msg, $code, $data ) );
		}
		if ( $status->isOK() ) {
			// Refused without a message: Vigil's own block, or a verdict
			// from a newer Vigil.
			$status->fatal( Compat::apiMessage( wfMessage( 'vigil-disallowed' )->plaintextParams( '', '' ),
				'abusefilter-disallowed', [ 'vigil' => [] ] ) );
		}
		return $status;
	}

	/**
	 * The message to show for a verdict's message key: the extension's
	 * own for AbuseFilter's defaults, a custom key when the wiki has such
	 * a message (MediaWiki:<key>), else the default of the consequence.
	 *
	 * @param string $key
	 * @param string $consequence
	 * @return string
	 */
	private function messageKey( string $key, string $consequence ): string {
		if ( isset( self::MESSAGE_KEYS[$key] ) ) {
			return self::MESSAGE_KEYS[$key];
		}
		if ( $key !== '' && preg_match( '/^[a-zA-Z0-9_.:-]{1,255}$/', $key ) && wfMessage( $key )->exists() ) {
			return $key;
		}
		return $consequence === 'warn' ? 'vigil-warning' : 'vigil-disallowed';
	}

	/**
	 * An expiry as the reader's language writes it.
	 *
	 * @param string $expiry "infinity" or RFC 3339
	 * @return string
	 */
	private function expiryText( string $expiry ): string {
		$lang = wfMessage( 'vigil-blocked' )->getLanguage();
		if ( wfIsInfinity( $expiry ) ) {
			return wfMessage( 'infiniteblock' )->text();
		}
		$unix = strtotime( $expiry );
		if ( $unix === false ) {
			return $expiry;
		}
		return $lang->formatExpiry( wfTimestamp( TS_MW, $unix ), true, 'infinity' );
	}

	/**
	 * Place what the verdict decided on the wiki: blocks, range blocks,
	 * degroup, autopromotion block. Failures are logged, never thrown.
	 *
	 * @param array $verdict
	 * @param \User|\MediaWiki\User\User|null $performer
	 * @param array $action
	 */
	private function enforce( array $verdict, $performer, array $action ): void {
		if ( !$this->config->get( 'VigilPlaceBlocks' ) ) {
			return;
		}
		// Vigil decides whether to block, not whom: a block is placed only
		// on the performer of this action, a range block only on a range
		// that holds this request's address and is no wider than
		// AbuseFilter's (/16, /19). A wrong or forged answer cannot block
		// anyone else.
		$blocks = [];
		$b = $verdict['block'] ?? null;
		if ( is_array( $b ) && $performer && ( $b['target'] ?? null ) === $performer->getName() ) {
			$blocks[] = $b;
		} elseif ( is_array( $b ) ) {
			$this->logger->error( 'Vigil: a block of {target} for an action by {performer} was not placed',
				[ 'target' => (string)( $b['target'] ?? '' ), 'performer' => $performer ? $performer->getName() : '' ] );
		}
		$ip = (string)( $action['ip'] ?? '' );
		foreach ( (array)( $verdict['range_blocks'] ?? [] ) as $b ) {
			if ( is_array( $b ) && self::rangeOfRequest( (string)( $b['target'] ?? '' ), $ip ) ) {
				$blocks[] = $b;
			} elseif ( is_array( $b ) ) {
				$this->logger->error( 'Vigil: a range block of {target} that does not hold the request was not placed',
					[ 'target' => (string)( $b['target'] ?? '' ) ] );
			}
		}
		foreach ( $blocks as $b ) {
			$this->placeBlock( $b, $action['action'] ?? '' );
		}
		if ( $performer && $performer->isRegistered() ) {
			$d = $verdict['degroup'] ?? null;
			if ( is_array( $d ) && ( $d['user'] ?? '' ) === $performer->getName() ) {
				foreach ( (array)( $d['groups'] ?? [] ) as $group ) {
					try {
						$this->userGroupManager->removeUserFromGroup( $performer, (string)$group );
					} catch ( Throwable $e ) {
						$this->logger->error( 'Vigil: could not remove {user} from {group}: {msg}',
							[ 'user' => $performer->getName(), 'group' => $group, 'msg' => $e->getMessage() ] );
					}
				}
			}
			$a = $verdict['block_autopromote'] ?? null;
			if ( is_array( $a ) && ( $a['user'] ?? '' ) === $performer->getName() && ( $a['seconds'] ?? 0 ) > 0 ) {
				$this->stash->set( $this->autopromoteKey( (int)$performer->getId() ), 1, (int)$a['seconds'] );
			}
		}
	}

	/**
	 * Whether a range is one Vigil may ask to block for this request: a
	 * valid range that holds the request's address, /16 or narrower for
	 * IPv4, /19 or narrower for IPv6.
	 *
	 * @param string $range
	 * @param string $ip
	 * @return bool
	 */
	public static function rangeOfRequest( string $range, string $ip ): bool {
		if ( $ip === '' || !IPUtils::isValidRange( $range ) || !IPUtils::isInRange( $ip, $range ) ) {
			return false;
		}
		$bits = (int)substr( $range, strrpos( $range, '/' ) + 1 );
		return IPUtils::isIPv6( $ip ) ? $bits >= 19 : $bits >= 16;
	}

	/**
	 * Place one block by the system user, with the verdict's target,
	 * expiry and reason.
	 *
	 * @param array $b a BlockDecision
	 * @param string $action
	 */
	private function placeBlock( array $b, string $action ): void {
		$target = (string)( $b['target'] ?? '' );
		if ( $target === '' ) {
			return;
		}
		$expiry = 'infinity';
		if ( empty( $b['indefinite'] ) && !empty( $b['expiry'] ) ) {
			$expiry = (string)$b['expiry'];
		}
		try {
			$blocker = $this->blocker();
			if ( !$blocker ) {
				return;
			}
			$blockUser = $this->blockUserFactory->newBlockUser(
				$target,
				$blocker,
				$expiry,
				(string)( $b['reason'] ?? '' ),
				[
					'isHardBlock' => false,
					'isAutoblocking' => !empty( $b['autoblock'] ),
					'isCreateAccountBlocked' => true,
					'isUserTalkEditBlocked' => empty( $b['talk_access'] ),
				]
			);
			$status = $blockUser->placeBlockUnsafe();
			if ( $status->isOK() ) {
				$this->logger->info( 'Vigil blocked {target} until {expiry} ({vigil_action}, filter {filter})',
					[ 'target' => $target, 'expiry' => $expiry, 'vigil_action' => $action,
						'filter' => $b['filter'] ?? '' ] );
			} else {
				// Typically "already blocked": the block in force stays.
				$this->logger->info( 'Vigil: block of {target} not placed: {errors}',
					[ 'target' => $target, 'errors' => (string)$status ] );
			}
		} catch ( Throwable $e ) {
			$this->logger->error( 'Vigil: could not block {target}: {exception_message}', [
				'target' => $target, 'exception' => $e, 'exception_message' => $e->getMessage(),
			] );
		}
	}

	/**
	 * The system user that places blocks.
	 *
	 * @return \User|\MediaWiki\User\User|null
	 */
	private function blocker() {
		$name = $this->blockerName();
		$user = Compat::systemUser( $name );
		if ( !$user ) {
			$this->logger->error( 'Vigil: no system user {name} to place blocks with: the name is invalid ' .
				'or belongs to a normal account; set $wgVigilBlockerName', [ 'name' => $name ] );
		}
		return $user;
	}

	/**
	 * @return string
	 */
	public function blockerName(): string {
		return (string)( $this->config->get( 'VigilBlockerName' ) ?: 'Vigil' );
	}

	/**
	 * Whether Vigil blocked the user's autopromotion.
	 *
	 * @param int $userId
	 * @return bool
	 */
	public function autopromoteBlocked( int $userId ): bool {
		return $userId > 0 && (bool)$this->stash->get( $this->autopromoteKey( $userId ) );
	}

	private function autopromoteKey( int $userId ): string {
		return $this->stash->makeKey( 'vigil-block-autopromote', (string)$userId );
	}

	private function secret(): string {
		$secret = $this->config->has( 'SecretKey' ) ? (string)$this->config->get( 'SecretKey' ) : '';
		return $secret !== '' ? $secret : 'vigil';
	}

	// Tags

	/**
	 * The key that ties an action to its recent change: the action (the
	 * log type of its recent change), the page and the performer; for an
	 * account creation, the new account's name.
	 *
	 * @param string $action edit, move, delete, upload or createaccount
	 * @param int $namespace
	 * @param string $title the title's text or DB key
	 * @param string $user
	 * @return string
	 */
	public static function tagKey( string $action, int $namespace, string $title, string $user ): string {
		$title = str_replace( '_', ' ', $title );
		if ( $action === 'createaccount' || $action === 'autocreateaccount' ) {
			return 'account|' . $title;
		}
		// A logged-out save may create a temporary account (MediaWiki 1.41
		// and later): the recent change then names it, not the address the
		// action was screened for. Both are "anonymous" here.
		if ( IPUtils::isIPAddress( $user ) || str_starts_with( $user, '~' ) ) {
			$user = '*anon*';
		}
		return $action . '|' . $namespace . ':' . $title . '|' . $user;
	}

	/**
	 * @param string $key
	 * @param array $tags
	 */
	private function keepTags( string $key, array $tags ): void {
		$tags = array_values( array_filter( array_map( 'strval', $tags ), static function ( $t ) {
			return $t !== '';
		} ) );
		if ( $tags ) {
			$this->pendingTags[$key] = array_values( array_unique(
				array_merge( $this->pendingTags[$key] ?? [], $tags ) ) );
		}
	}

	/**
	 * Take the tags waiting for an action's recent change.
	 *
	 * @param string $key
	 * @return string[]
	 */
	public function takeTags( string $key ): array {
		$tags = $this->pendingTags[$key] ?? [];
		unset( $this->pendingTags[$key] );
		return $tags;
	}

	/**
	 * The tags the extension declares: the configured ones and those Vigil
	 * applied so far.
	 *
	 * @return string[]
	 */
	public function definedTags(): array {
		$seen = $this->stash->get( $this->tagsKey() );
		return array_values( array_unique( array_merge(
			array_map( 'strval', (array)$this->config->get( 'VigilTags' ) ),
			is_array( $seen ) ? $seen : []
		) ) );
	}

	/**
	 * Remember tags Vigil applied, so that they are declared from now on.
	 *
	 * @param string[] $tags
	 */
	public function rememberTags( array $tags ): void {
		$new = array_diff( $tags, $this->definedTags() );
		if ( !$new ) {
			return;
		}
		$this->stash->merge( $this->tagsKey(), static function ( $cache, $key, $old ) use ( $new ) {
			return array_values( array_unique( array_merge( is_array( $old ) ? $old : [], $new ) ) );
		}, 0 /* no expiry */ );
		Compat::purgeTagCache();
	}

	private function tagsKey(): string {
		return $this->stash->makeKey( 'vigil-defined-tags' );
	}
}
