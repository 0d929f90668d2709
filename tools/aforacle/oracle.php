<?php
/**
 * aforacle: the real AbuseFilter as an oracle for Vigil's differential tests.
 *
 * Reads JSON requests, one per line, on stdin and writes one JSON answer per
 * line on stdout. It only calls the classes of the AbuseFilter extension
 * that Debian's mediawiki package installs (no MediaWiki code is copied).
 *
 *   {"op":"eval","expr":"..."}                       -> {"value":..,"type":..,"error":..}
 *   {"op":"match","rule":"...","vars":{...}}         -> {"match":bool,"error":..,"conds":N}
 *   {"op":"check","rule":"..."}                      -> {"error":..,"warnings":[..]}
 *   {"op":"shared","rules":["..",..],"vars":{...},"limit":N}
 *        -> {"results":[{"match":bool,"error":..,"conds":N},..]}  (one evaluator for all rules)
 *   {"op":"diff","old":"..","new":".."}             -> {"diff":".."} (AbuseFilter's edit_diff)
 *   {"op":"links","text":".."}                       -> {"links":[..]} (the parser's external links)
 *
 * Run: cd /usr/share/mediawiki && MW_CONFIG_FILE=<wiki>/LocalSettings.php \
 *        php maintenance/runScript.php <path>/oracle.php
 */

use MediaWiki\Extension\AbuseFilter\AbuseFilterServices;
use MediaWiki\Extension\AbuseFilter\KeywordsManager;
use MediaWiki\Extension\AbuseFilter\Parser\AFPData;
use MediaWiki\Extension\AbuseFilter\Parser\RuleCheckerFactory;
use MediaWiki\Extension\AbuseFilter\Variables\VariablesManager;
use MediaWiki\Extension\AbuseFilter\Variables\VariableHolder;

$IP = getenv( 'MW_INSTALL_PATH' ) ?: '/usr/share/mediawiki';
require_once "$IP/maintenance/Maintenance.php";

class AbuseFilterOracle extends Maintenance {
	public function __construct() {
		parent::__construct();
		$this->addDescription( 'Answer rule-language questions with the real AbuseFilter' );
	}

	private static function errorId( $e ) {
		if ( $e === null ) {
			return null;
		}
		if ( $e instanceof \MediaWiki\Extension\AbuseFilter\Parser\Exception\UserVisibleException ) {
			return $e->mExceptionID;
		}
		$class = get_class( $e );
		if ( str_contains( $class, 'ConditionLimit' ) ) {
			return 'conditionlimit';
		}
		return 'internal:' . $class . ':' . $e->getMessage();
	}

	private static function typed( AFPData $d ) {
		return [ 'value' => $d->toNative(), 'type' => $d->getType() ];
	}

	private function answer( array $req ): array {
		$factory = AbuseFilterServices::getRuleCheckerFactory();
		switch ( $req['op'] ) {
			case 'eval':
				$checker = $factory->newRuleChecker();
				try {
					$d = $checker->evaluateExpression( $req['expr'] );
					return [ 'value' => $d, 'error' => null ];
				} catch ( Throwable $e ) {
					return [ 'value' => null, 'error' => self::errorId( $e ) ];
				}
			case 'match':
				$vars = VariableHolder::newFromArray( $req['vars'] ?? [] );
				$checker = $factory->newRuleChecker( $vars );
				$checker->toggleConditionLimit( false );
				try {
					$status = $checker->checkConditions( $req['rule'] );
					return [ 'match' => $status->getResult(), 'error' => self::errorId( $status->getException() ),
						'conds' => $status->getCondsUsed() ];
				} catch ( Throwable $e ) {
					return [ 'match' => false, 'error' => self::errorId( $e ), 'conds' => null ];
				}
			case 'check':
				$checker = $factory->newRuleChecker();
				try {
					$status = $checker->checkSyntax( $req['rule'] );
					$warnings = [];
					foreach ( $status->getWarnings() as $w ) {
						$warnings[] = [ $w->getMessageObj()->getKey(), $w->getPosition() ];
					}
					$e = $status->getException();
					return [ 'error' => self::errorId( $e ), 'offset' => $e ? $e->getPosition() : null,
						'warnings' => $warnings ];
				} catch ( Throwable $e ) {
					return [ 'error' => self::errorId( $e ), 'offset' => null, 'warnings' => [] ];
				}
			case 'shared':
				$vars = VariableHolder::newFromArray( $req['vars'] ?? [] );
				$checker = $factory->newRuleChecker( $vars );
				$limit = $req['limit'] ?? 0;
				$checker->toggleConditionLimit( $limit > 0 );
				$out = [];
				foreach ( $req['rules'] as $rule ) {
					$status = $checker->checkConditions( $rule );
					$out[] = [ 'match' => $status->getResult(), 'error' => self::errorId( $status->getException() ),
						'conds' => $status->getCondsUsed() ];
				}
				return [ 'results' => $out ];
			case 'diff':
				$old = $req['old'] === '' ? [] : explode( "\n", $req['old'] );
				$new = $req['new'] === '' ? [] : explode( "\n", $req['new'] );
				return [ 'diff' => ( new UnifiedDiffFormatter() )->format( new Diff( $old, $new ) ) ];
			case 'links':
				$services = \MediaWiki\MediaWikiServices::getInstance();
				$parser = $services->getParserFactory()->create();
				$title = \Title::newFromText( 'Vigil oracle page' );
				$po = $parser->parse( $req['text'], $title, \ParserOptions::newFromAnon() );
				return [ 'links' => array_map( 'strval', array_keys( $po->getExternalLinks() ) ) ];
		}
		return [ 'error' => 'unknown op' ];
	}

	/**
	 * Makes ccnorm() use the given equivset.json instead of the (older)
	 * one Debian packages, so that differences found are the engine's.
	 */
	private function useEquivset( $path ) {
		if ( !$path ) {
			return;
		}
		$data = json_decode( file_get_contents( $path ), true );
		unset( $data['_readme'] );
		$services = \MediaWiki\MediaWikiServices::getInstance();
		$services->redefineService( RuleCheckerFactory::SERVICE_NAME,
			static function ( $services ) use ( $data ) {
				return new RuleCheckerFactory(
					$services->getContentLanguage(),
					ObjectCache::getLocalServerInstance( 'hash' ),
					\MediaWiki\Logger\LoggerFactory::getInstance( 'AbuseFilter' ),
					$services->getService( KeywordsManager::SERVICE_NAME ),
					$services->get( VariablesManager::SERVICE_NAME ),
					$services->getStatsdDataFactory(),
					new \Wikimedia\Equivset\Equivset( $data ),
					$services->getMainConfig()->get( 'AbuseFilterConditionLimit' )
				);
			}
		);
	}

	public function execute() {
		// The oracle answers questions about odd values on purpose; PHP's
		// warnings about them are noise here.
		error_reporting( E_ERROR );
		$this->useEquivset( getenv( 'AFORACLE_EQUIVSET' ) );
		while ( ( $line = fgets( STDIN ) ) !== false ) {
			$req = json_decode( $line, true );
			$ans = is_array( $req ) ? $this->answer( $req ) : [ 'error' => 'bad request' ];
			echo json_encode( $ans, JSON_PRESERVE_ZERO_FRACTION | JSON_PARTIAL_OUTPUT_ON_ERROR ), "\n";
		}
	}
}

$maintClass = AbuseFilterOracle::class;
require_once RUN_MAINTENANCE_IF_MAIN;
