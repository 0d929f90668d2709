<?php
/**
 * @license GPL-2.0-or-later
 * @file
 */

namespace MediaWiki\Extension\Vigil;

use MediaWiki\Http\HttpRequestFactory;
use Psr\Log\LoggerInterface;
use Throwable;

/**
 * The HTTP client of Vigil's screening endpoint, POST /v1/screen.
 *
 * It never throws: any failure (Vigil not configured, unreachable, too
 * slow, an HTTP error, an answer that is not a verdict) is logged and
 * reported as null, and the caller applies the fail mode.
 */
class Client {
	public const PATH = '/v1/screen';

	/** @var HttpRequestFactory */
	private $http;
	/** @var string */
	private $url;
	/** @var string */
	private $token;
	/** @var float */
	private $timeout;
	/** @var LoggerInterface */
	private $logger;

	/**
	 * @param HttpRequestFactory $http
	 * @param string $url Vigil's base URL
	 * @param string $token a service token with the "screen" scope
	 * @param float $timeout seconds
	 * @param LoggerInterface $logger
	 */
	public function __construct(
		HttpRequestFactory $http, string $url, string $token, float $timeout, LoggerInterface $logger
	) {
		$this->http = $http;
		$this->url = rtrim( trim( $url ), '/' );
		$this->token = trim( $token );
		$this->timeout = $timeout > 0 ? $timeout : 1.0;
		$this->logger = $logger;
	}

	/**
	 * An action as the request's JSON: with its old text and new_pst as deltas where
	 * PayloadBuilder::compactTexts makes them. The delta's offsets count
	 * bytes, which the encoder's replacement of invalid UTF-8 would move: a
	 * text that is not valid UTF-8 (JSON's strict encoding fails) goes whole,
	 * its bad bytes replaced.
	 *
	 * @param array $action
	 * @return string|false
	 */
	public static function encode( array $action ) {
		$compact = PayloadBuilder::compactTexts( $action );
		if ( $compact !== $action ) {
			$json = json_encode( $compact, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE );
			if ( $json !== false ) {
				return $json;
			}
		}
		return json_encode( $action, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE );
	}

	/**
	 * Screen one action.
	 *
	 * @param array $action Vigil's action payload
	 * @return array|null the verdict, or null when Vigil gave none (logged)
	 */
	public function screen( array $action ): ?array {
		$context = [
			'vigil_action' => $action['action'] ?? '',
			'wiki' => $action['wiki'] ?? '',
		];
		if ( $this->url === '' ) {
			$this->logger->warning( 'Vigil is not configured ($wgVigilUrl is empty)', $context );
			return null;
		}
		$json = self::encode( $action );
		if ( $json === false ) {
			$this->logger->error( 'Vigil: the action cannot be encoded as JSON: {error}',
				$context + [ 'error' => json_last_error_msg() ] );
			return null;
		}

		$start = microtime( true );
		try {
			$req = $this->request( self::PATH, $json );
			$status = $req->execute();
			$code = $req->getStatus();
			$body = (string)$req->getContent();
		} catch ( Throwable $e ) {
			$this->logger->error( 'Vigil request failed: {exception_message}', $context + [
				'exception' => $e,
				'exception_message' => $e->getMessage(),
			] );
			return null;
		}
		$context['duration_ms'] = (int)round( ( microtime( true ) - $start ) * 1000 );
		$context['http_status'] = $code;

		if ( $code !== 200 ) {
			$error = '';
			$decoded = json_decode( $body, true );
			if ( is_array( $decoded ) && isset( $decoded['error'] ) && is_array( $decoded['error'] ) ) {
				$error = ( $decoded['error']['code'] ?? '' ) . ': ' . ( $decoded['error']['message'] ?? '' );
				if ( isset( $decoded['error']['field'] ) ) {
					$error .= ' (field ' . $decoded['error']['field'] . ')';
				}
			} elseif ( $code === 0 ) {
				// No HTTP answer: refused, timed out, or not HTTP.
				$error = $status->isOK() ? 'no answer' : trim( preg_replace( '/\s*\n\s*\*?\s*/', '; ',
					$status->getWikiText( false, false, 'en' ) ), "; *\n" );
				if ( $context['duration_ms'] >= 900 * $this->timeout ) {
					$error = "timed out after {$this->timeout} s ($error)";
				}
			} else {
				$error = mb_strimwidth( $body, 0, 200, '...' );
			}
			$this->logger->error( 'Vigil answered HTTP {http_status} in {duration_ms} ms: {error}',
				$context + [ 'error' => $error ] );
			return null;
		}

		$verdict = json_decode( $body, true );
		if ( !is_array( $verdict ) || !isset( $verdict['allowed'] ) || !is_bool( $verdict['allowed'] ) ||
			( isset( $verdict['messages'] ) && !is_array( $verdict['messages'] ) ) ||
			( isset( $verdict['tags'] ) && !is_array( $verdict['tags'] ) )
		) {
			$this->logger->error( 'Vigil answered something that is not a verdict in {duration_ms} ms: {body}',
				$context + [ 'body' => mb_strimwidth( $body, 0, 200, '...' ) ] );
			return null;
		}
		$this->logger->debug( 'Vigil verdict in {duration_ms} ms: {allowed}',
			$context + [ 'allowed' => $verdict['allowed'] ? 'allowed' : 'refused' ] );
		return $verdict;
	}

	/**
	 * Lift a block Vigil placed (POST /v1/blocks/unblock), after an
	 * administrator unblocked the same target on the wiki. Failures are
	 * logged; a block Vigil no longer has (404) is not a failure.
	 *
	 * @param string $wiki
	 * @param string $target the blocked user name, IP address or range
	 * @param string $author who unblocked
	 * @param string $reason
	 * @return bool whether Vigil has no such block any more
	 */
	public function unblock( string $wiki, string $target, string $author, string $reason ): bool {
		if ( $this->url === '' ) {
			return false;
		}
		$json = json_encode( [ 'wiki' => $wiki, 'target' => $target, 'author' => $author, 'reason' => $reason ],
			JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE );
		try {
			$req = $this->request( '/v1/blocks/unblock', $json );
			$req->execute();
			$code = $req->getStatus();
		} catch ( Throwable $e ) {
			$this->logger->error( 'Vigil unblock failed: {exception_message}', [
				'exception' => $e,
				'exception_message' => $e->getMessage(),
			] );
			return false;
		}
		if ( $code !== 200 && $code !== 404 ) {
			$this->logger->error( 'Vigil answered HTTP {http_status} to an unblock', [ 'http_status' => $code ] );
			return false;
		}
		return true;
	}

	/**
	 * A JSON POST to Vigil with the token and the timeout.
	 *
	 * @param string $path
	 * @param string $json
	 * @return \MWHttpRequest
	 */
	private function request( string $path, string $json ) {
		$req = $this->http->create( $this->url . $path, [
			'method' => 'POST',
			'postData' => $json,
			'timeout' => $this->timeout,
			'connectTimeout' => $this->timeout,
			'followRedirects' => false,
		], __METHOD__ );
		$req->setHeader( 'Content-Type', 'application/json' );
		$req->setHeader( 'Accept', 'application/json' );
		if ( $this->token !== '' ) {
			$req->setHeader( 'Authorization', 'Bearer ' . $this->token );
		}
		return $req;
	}
}
