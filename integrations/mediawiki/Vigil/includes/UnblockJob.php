<?php
/**
 * @license GPL-2.0-or-later
 * @file
 */

namespace MediaWiki\Extension\Vigil;

use Job;
use MediaWiki\MediaWikiServices;

/**
 * Tells Vigil again about an unblock made on the wiki, when Vigil could
 * not be reached at the time: until it knows, Vigil goes on refusing the
 * unblocked user's actions. The job queue retries a job that fails.
 */
class UnblockJob extends Job {
	public const NAME = 'vigilUnblock';

	/**
	 * @param mixed $title unused (1.39 passes a Title first)
	 * @param array $params wiki, target, author
	 */
	public function __construct( $title, array $params = [] ) {
		parent::__construct( self::NAME, $params );
		$this->removeDuplicates = true;
	}

	/**
	 * @return bool whether Vigil has no such block any more
	 */
	public function run() {
		/** @var Client $client */
		$client = MediaWikiServices::getInstance()->get( 'Vigil.Client' );
		$ok = $client->unblock( (string)( $this->params['wiki'] ?? '' ), (string)( $this->params['target'] ?? '' ),
			(string)( $this->params['author'] ?? '' ), 'unblocked on the wiki' );
		if ( !$ok ) {
			$this->setLastError( 'Vigil could not be told of the unblock; retrying' );
		}
		return $ok;
	}
}
