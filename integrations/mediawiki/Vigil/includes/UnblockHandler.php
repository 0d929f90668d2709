<?php
/**
 * @license GPL-2.0-or-later
 * @file
 */

namespace MediaWiki\Extension\Vigil;

use JobSpecification;
use MediaWiki\Hook\UnblockUserCompleteHook;
use MediaWiki\MediaWikiServices;
use Throwable;

/**
 * Mirrors an unblock on the wiki to Vigil: when an administrator lifts a
 * block that Vigil's filters placed, Vigil stops refusing the target's
 * actions too (it keeps its own list of the blocks it decided).
 */
class UnblockHandler implements UnblockUserCompleteHook {
	/** @var Client */
	private $client;
	/** @var Screener */
	private $screener;
	/** @var \Config|\MediaWiki\Config\Config */
	private $config;

	public function __construct( Client $client, Screener $screener, $config ) {
		$this->client = $client;
		$this->screener = $screener;
		$this->config = $config;
	}

	/**
	 * @inheritDoc
	 */
	public function onUnblockUserComplete( $block, $user ) {
		try {
			$blocker = $block->getBlocker();
			if ( !$blocker || $blocker->getName() !== (string)$this->config->get( 'VigilBlockerName' ) ) {
				return;
			}
			$target = $block->getTargetName();
			if ( $target === null || $target === '' ) {
				return;
			}
			$wiki = $this->screener->wikiId();
			if ( !$this->client->unblock( $wiki, $target, $user->getName(), 'unblocked on the wiki' ) ) {
				// Vigil is down or slow: the job queue tells it later.
				MediaWikiServices::getInstance()->getJobQueueGroup()->lazyPush( new JobSpecification(
					UnblockJob::NAME, [ 'wiki' => $wiki, 'target' => $target, 'author' => $user->getName() ] ) );
			}
		} catch ( Throwable $e ) {
			// An unblock on the wiki must never fail because of Vigil.
		}
	}
}
