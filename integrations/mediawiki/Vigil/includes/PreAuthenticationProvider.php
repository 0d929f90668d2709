<?php
/**
 * @license GPL-2.0-or-later
 * @file
 */

namespace MediaWiki\Extension\Vigil;

use MediaWiki\Auth\AbstractPreAuthenticationProvider;
use MediaWiki\User\UserFactory;
use StatusValue;
use Throwable;

/**
 * Screens account creations (action "createaccount", the performer being
 * the creator: an IP, or a user creating an account for someone else) and
 * automatic creations (action "autocreateaccount", e.g. on a first visit
 * through a central login), and keeps the blocker's name for the system
 * user.
 */
class PreAuthenticationProvider extends AbstractPreAuthenticationProvider {
	/** @var Screener */
	private $screener;
	/** @var PayloadBuilder */
	private $payload;
	/** @var UserFactory */
	private $userFactory;

	public function __construct( Screener $screener, PayloadBuilder $payload, UserFactory $userFactory ) {
		$this->screener = $screener;
		$this->payload = $payload;
		$this->userFactory = $userFactory;
	}

	/**
	 * @inheritDoc
	 */
	public function testForAccountCreation( $user, $creator, array $reqs ) {
		return $this->screenCreation( $user, $creator, false );
	}

	/**
	 * @inheritDoc
	 */
	public function testUserForCreation( $user, $autocreate, array $options = [] ) {
		if ( !$autocreate ) {
			// testForAccountCreation screens it.
			return StatusValue::newGood();
		}
		// The creator of an automatic creation is nobody: the request's IP.
		return $this->screenCreation( $user, $this->userFactory->newAnonymous(), true );
	}

	/**
	 * @param \User|\MediaWiki\User\User $user the account to create
	 * @param \User|\MediaWiki\User\User $creator
	 * @param bool $autocreate
	 * @return StatusValue
	 */
	private function screenCreation( $user, $creator, bool $autocreate ): StatusValue {
		$kind = $autocreate ? 'autocreateaccount' : 'createaccount';
		try {
			if ( $user->getName() === $this->screener->blockerName() ) {
				return StatusValue::newFatal( 'vigil-accountreserved' );
			}
			$request = $this->manager ? $this->manager->getRequest() : Compat::mainRequest();
			if ( !$creator->isRegistered() && $creator->getName() === '' ) {
				$creator = $this->userFactory->newAnonymous( $request->getIP() );
			}
			$action = [
				'action' => $kind,
				'performer' => $this->payload->performer( $creator ),
				'account_name' => $user->getName(),
			];
			return $this->screener->screen( $action, $creator->isRegistered() ? $creator : null, $request,
				Screener::tagKey( 'createaccount', NS_USER, $user->getName(), '' ) );
		} catch ( Throwable $e ) {
			return $this->screener->failure( $e, $kind );
		}
	}
}
