<?php
/**
 * @license GPL-2.0-or-later
 * @file
 */

namespace MediaWiki\Extension\Vigil;

use MessageSpecifier;

/**
 * Names of core classes that moved into namespaces after MediaWiki 1.39
 * (their old global names are deprecated aliases that later releases
 * drop): the extension resolves them at run time so that it runs on 1.39
 * as on current MediaWiki.
 */
class Compat {
	/**
	 * The first of the class names that exists.
	 *
	 * @param string ...$names
	 * @return string
	 */
	public static function cls( string ...$names ): string {
		foreach ( $names as $name ) {
			if ( class_exists( $name ) ) {
				return $name;
			}
		}
		return $names[count( $names ) - 1];
	}

	/**
	 * An ApiMessage: a message with an API error code and data.
	 *
	 * @param MessageSpecifier $msg
	 * @param string $code
	 * @param array|null $data
	 * @return MessageSpecifier
	 */
	public static function apiMessage( MessageSpecifier $msg, string $code, ?array $data = null ): MessageSpecifier {
		$cls = self::cls( 'MediaWiki\\Api\\ApiMessage', 'ApiMessage' );
		return $cls::create( $msg, $code, $data );
	}

	/**
	 * The wiki id of this wiki.
	 *
	 * @return string
	 */
	public static function currentWikiId(): string {
		$cls = self::cls( 'MediaWiki\\WikiMap\\WikiMap', 'WikiMap' );
		return $cls::getCurrentWikiId();
	}

	/**
	 * The request being served.
	 *
	 * @return \WebRequest|\MediaWiki\Request\WebRequest
	 */
	public static function mainRequest() {
		$cls = self::cls( 'MediaWiki\\Context\\RequestContext', 'RequestContext' );
		return $cls::getMain()->getRequest();
	}

	/**
	 * A system user (created on first use), or null when the name is
	 * invalid or belongs to a normal account.
	 *
	 * @param string $name
	 * @return \User|\MediaWiki\User\User|null
	 */
	public static function systemUser( string $name ) {
		$cls = self::cls( 'MediaWiki\\User\\User', 'User' );
		return $cls::newSystemUser( $name, [ 'steal' => false ] );
	}

	/**
	 * Forget the cached lists of defined and active change tags.
	 */
	public static function purgeTagCache(): void {
		$cls = self::cls( 'MediaWiki\\ChangeTags\\ChangeTags', 'ChangeTags' );
		$cls::purgeTagCacheAll();
	}
}
