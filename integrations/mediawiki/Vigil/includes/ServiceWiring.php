<?php
/**
 * Services of the Vigil extension.
 *
 * @license GPL-2.0-or-later
 * @file
 */

use MediaWiki\Extension\Vigil\Client;
use MediaWiki\Extension\Vigil\PayloadBuilder;
use MediaWiki\Extension\Vigil\Screener;
use MediaWiki\Logger\LoggerFactory;
use MediaWiki\MediaWikiServices;

return [
	'Vigil.Client' => static function ( MediaWikiServices $services ): Client {
		$config = $services->getMainConfig();
		return new Client(
			$services->getHttpRequestFactory(),
			(string)$config->get( 'VigilUrl' ),
			(string)$config->get( 'VigilToken' ),
			(float)$config->get( 'VigilTimeout' ),
			LoggerFactory::getInstance( 'Vigil' )
		);
	},

	'Vigil.PayloadBuilder' => static function ( MediaWikiServices $services ): PayloadBuilder {
		return new PayloadBuilder(
			$services->getUserGroupManager(),
			$services->getPermissionManager(),
			$services->getUserNameUtils(),
			$services->getRestrictionStore(),
			$services->getRevisionLookup(),
			$services->getDBLoadBalancer(),
			LoggerFactory::getInstance( 'Vigil' )
		);
	},

	'Vigil.Screener' => static function ( MediaWikiServices $services ): Screener {
		return new Screener(
			$services->get( 'Vigil.Client' ),
			$services->get( 'Vigil.PayloadBuilder' ),
			$services->getMainConfig(),
			$services->getBlockUserFactory(),
			$services->getUserGroupManager(),
			$services->getMainObjectStash(),
			LoggerFactory::getInstance( 'Vigil' )
		);
	},
];
