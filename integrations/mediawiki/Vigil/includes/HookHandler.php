<?php
/**
 * @license GPL-2.0-or-later
 * @file
 */

namespace MediaWiki\Extension\Vigil;

use MediaWiki\ChangeTags\Hook\ChangeTagsListActiveHook;
use MediaWiki\ChangeTags\Hook\ListDefinedTagsHook;
use MediaWiki\EditPage\IEditObject;
use MediaWiki\Hook\EditFilterMergedContentHook;
use MediaWiki\Hook\RecentChange_saveHook;
use MediaWiki\Hook\TitleMoveHook;
use MediaWiki\Hook\UploadStashFileHook;
use MediaWiki\Hook\UploadVerifyUploadHook;
use MediaWiki\Logger\LoggerFactory;
use MediaWiki\Page\Hook\PageDeleteHook;
use MediaWiki\Page\WikiPageFactory;
use MediaWiki\Revision\RevisionRecord;
use MediaWiki\Revision\SlotRecord;
use MediaWiki\User\Hook\GetAutoPromoteGroupsHook;
use MediaWiki\User\UserFactory;
use Throwable;

/**
 * The hooks that screen actions with Vigil and apply its verdicts.
 *
 * Parameter types are left off where core's have moved namespace since
 * MediaWiki 1.39 (Title, User, Status, Content...): a hook handler may
 * widen a parameter type, so the same class runs on 1.39 and later.
 */
class HookHandler implements
	EditFilterMergedContentHook,
	TitleMoveHook,
	PageDeleteHook,
	UploadVerifyUploadHook,
	UploadStashFileHook,
	RecentChange_saveHook,
	ListDefinedTagsHook,
	ChangeTagsListActiveHook,
	GetAutoPromoteGroupsHook
{
	/** @var Screener */
	private $screener;
	/** @var PayloadBuilder */
	private $payload;
	/** @var UserFactory */
	private $userFactory;
	/** @var \TitleFactory|\MediaWiki\Title\TitleFactory */
	private $titleFactory;
	/** @var WikiPageFactory */
	private $wikiPageFactory;
	/** @var \MimeAnalyzer|\Wikimedia\Mime\MimeAnalyzer */
	private $mimeAnalyzer;
	/** @var \Config|\MediaWiki\Config\Config */
	private $config;

	public function __construct(
		Screener $screener,
		PayloadBuilder $payload,
		UserFactory $userFactory,
		$titleFactory,
		WikiPageFactory $wikiPageFactory,
		$mimeAnalyzer,
		$config
	) {
		$this->screener = $screener;
		$this->payload = $payload;
		$this->userFactory = $userFactory;
		$this->titleFactory = $titleFactory;
		$this->wikiPageFactory = $wikiPageFactory;
		$this->mimeAnalyzer = $mimeAnalyzer;
		$this->config = $config;
	}

	// Edits

	/**
	 * Web-form and API edits: refuse with the verdict's messages.
	 *
	 * @inheritDoc
	 */
	public function onEditFilterMergedContent( $context, $content, $status, $summary, $user, $minoredit ) {
		$title = $context->getTitle();
		if ( !$title || !$title->canExist() ) {
			return true;
		}
		try {
			$action = $this->editAction( $context, $title, $content, (string)$summary, $user );
			if ( $action === null ) {
				// A null edit: nothing to screen.
				return true;
			}
			$result = $this->screener->screen( $action, $user, $context->getRequest(),
				Screener::tagKey( 'edit', $title->getNamespace(), $title->getText(), $user->getName() ) );
		} catch ( Throwable $e ) {
			$result = $this->screener->failure( $e, 'edit' );
		}
		if ( $result->isOK() ) {
			return true;
		}
		$status->merge( $result );
		$status->value = IEditObject::AS_HOOK_ERROR_EXPECTED;
		return false;
	}

	/**
	 * The payload of an edit, or null for a null edit.
	 *
	 * @param \IContextSource|\MediaWiki\Context\IContextSource $context
	 * @param \Title|\MediaWiki\Title\Title $title
	 * @param \Content|\MediaWiki\Content\Content $content the new content, sections merged
	 * @param string $summary
	 * @param \User|\MediaWiki\User\User $user
	 * @return array|null
	 */
	private function editAction( $context, $title, $content, string $summary, $user ): ?array {
		$page = $context->canUseWikiPage() ? $context->getWikiPage() : $this->wikiPageFactory->newFromTitle( $title );
		$oldRev = $page->exists() ? $page->getRevisionRecord() : null;
		$oldContent = $oldRev ? $oldRev->getContent( SlotRecord::MAIN, RevisionRecord::RAW ) : null;
		$newText = PayloadBuilder::text( $content );
		$action = [
			'action' => 'edit',
			'performer' => $this->payload->performer( $user ),
			'page' => $this->payload->page( $title ),
			'summary' => $summary,
			'new_wikitext' => $newText,
			'new_content_model' => $content->getModel(),
		];
		if ( $oldContent ) {
			$oldText = PayloadBuilder::text( $oldContent );
			if ( $content->equals( $oldContent ) ||
				( $oldContent->getModel() === $content->getModel() && $oldText === $newText )
			) {
				return null;
			}
			$action['old_wikitext'] = $oldText;
			$action['old_content_model'] = $oldContent->getModel();
		} else {
			$action['old_wikitext'] = '';
			$action['old_content_model'] = '';
		}
		if ( $this->config->get( 'VigilSendParsedContent' ) ) {
			$action += $this->parsedContent( $page, $content, $user );
		}
		return $action;
	}

	/**
	 * The pre-save transform, HTML and external links of an edit, through
	 * the page's prepared edit, which the save then reuses.
	 *
	 * @param \WikiPage|\MediaWiki\Page\WikiPage $page
	 * @param \Content|\MediaWiki\Content\Content $content
	 * @param \User|\MediaWiki\User\User $user
	 * @return array
	 */
	private function parsedContent( $page, $content, $user ): array {
		$fields = [];
		try {
			$edit = $page->prepareContentForEdit( $content, null, $user );
			$fields['new_pst'] = PayloadBuilder::text( $edit->pstContent );
			$out = $edit->getOutput();
			if ( $out ) {
				$fields['new_html'] = method_exists( $out, 'runOutputPipeline' ) ? $out->getRawText() : $out->getText();
				$fields['new_links'] = array_map( 'strval', array_keys( $out->getExternalLinks() ) );
			}
		} catch ( Throwable $e ) {
			LoggerFactory::getInstance( 'Vigil' )->warning( 'Vigil: the edit could not be prepared: {msg}',
				[ 'msg' => $e->getMessage() ] );
		}
		return $fields;
	}

	// Moves

	/**
	 * @inheritDoc
	 */
	public function onTitleMove( $old, $nt, $user, $reason, &$status ) {
		try {
			$action = [
				'action' => 'move',
				'performer' => $this->payload->performer( $user ),
				'page' => $this->payload->page( $old ),
				'target' => $this->payload->page( $nt, false ),
				'summary' => (string)$reason,
			];
			$result = $this->screener->screen( $action, $user, Compat::mainRequest(),
				Screener::tagKey( 'move', $old->getNamespace(), $old->getText(), $user->getName() ) );
		} catch ( Throwable $e ) {
			$result = $this->screener->failure( $e, 'move' );
		}
		if ( $result->isOK() ) {
			return true;
		}
		$status->merge( $result );
		return false;
	}

	// Deletions

	/**
	 * @inheritDoc
	 */
	public function onPageDelete( $page, $deleter, $reason, $status, $suppress ) {
		if ( $suppress ) {
			// Suppressions are not screened, as in AbuseFilter.
			return true;
		}
		try {
			$title = $this->titleFactory->castFromPageIdentity( $page );
			$user = $this->userFactory->newFromAuthority( $deleter );
			$action = [
				'action' => 'delete',
				'performer' => $this->payload->performer( $user ),
				'page' => $this->payload->page( $title ),
				'summary' => (string)$reason,
			];
			$result = $this->screener->screen( $action, $user, Compat::mainRequest(),
				Screener::tagKey( 'delete', $title->getNamespace(), $title->getText(), $user->getName() ) );
		} catch ( Throwable $e ) {
			$result = $this->screener->failure( $e, 'delete' );
		}
		if ( $result->isOK() ) {
			return true;
		}
		$status->merge( $result );
		return false;
	}

	// Uploads

	/**
	 * @inheritDoc
	 */
	public function onUploadVerifyUpload( $upload, $user, ?array $props, $comment, $pageText, &$error ) {
		return $this->screenUpload( 'upload', $upload, $user, $props, (string)$comment, (string)$pageText, $error );
	}

	/**
	 * @inheritDoc
	 */
	public function onUploadStashFile( $upload, $user, ?array $props, &$error ) {
		return $this->screenUpload( 'stashupload', $upload, $user, $props, null, null, $error );
	}

	/**
	 * @param string $kind upload or stashupload
	 * @param \UploadBase $upload
	 * @param \User|\MediaWiki\User\User $user
	 * @param array|null $props
	 * @param string|null $comment
	 * @param string|null $pageText
	 * @param mixed &$error
	 * @return bool
	 */
	private function screenUpload( string $kind, $upload, $user, ?array $props, ?string $comment,
		?string $pageText, &$error
	): bool {
		$title = $upload->getTitle();
		if ( !$title ) {
			// UploadBase reports the bad title itself.
			return true;
		}
		try {
			$action = [
				'action' => $kind,
				'performer' => $this->payload->performer( $user ),
				'page' => $this->payload->page( $title ),
				'file' => $this->fileOf( $upload, $props ),
			];
			if ( $kind === 'upload' ) {
				$action['summary'] = $comment;
				$action['new_wikitext'] = $pageText;
				if ( $title->exists() ) {
					// The text is ignored when the file page exists.
					$rev = $this->wikiPageFactory->newFromTitle( $title )->getRevisionRecord();
					$old = $rev ? $rev->getContent( SlotRecord::MAIN, RevisionRecord::RAW ) : null;
					if ( $old ) {
						$action['old_wikitext'] = PayloadBuilder::text( $old );
						$action['new_wikitext'] = $action['old_wikitext'];
					}
				} else {
					$action['old_wikitext'] = '';
				}
			}
			$result = $this->screener->screen( $action, $user, Compat::mainRequest(),
				$kind === 'upload'
					? Screener::tagKey( 'upload', $title->getNamespace(), $title->getText(), $user->getName() )
					: null );
		} catch ( Throwable $e ) {
			$result = $this->screener->failure( $e, $kind );
		}
		if ( $result->isOK() ) {
			return true;
		}
		$errors = $result->getErrors();
		$error = $errors[0]['message'];
		return false;
	}

	/**
	 * The file of an upload.
	 *
	 * @param \UploadBase $upload
	 * @param array|null $props
	 * @return array
	 */
	private function fileOf( $upload, ?array $props ): array {
		if ( !$props ) {
			$cls = Compat::cls( 'MWFileProps' );
			$props = ( new $cls( $this->mimeAnalyzer ) )->getPropsFromPath( $upload->getTempPath(), true );
		}
		$mime = (string)( $props['mime'] ?? '' );
		$file = [
			'sha1' => \Wikimedia\base_convert( $upload->getTempFileSha1Base36(), 36, 16, 40 ),
			'size' => (int)$upload->getFileSize(),
			'mime' => $mime,
			'media_type' => (string)$this->mimeAnalyzer->getMediaType( null, $mime ),
		];
		foreach ( [ 'width' => 'width', 'height' => 'height', 'bits' => 'bits_per_channel' ] as $from => $to ) {
			if ( isset( $props[$from] ) && is_numeric( $props[$from] ) && $props[$from] > 0 ) {
				$file[$to] = (int)$props[$from];
			}
		}
		return $file;
	}

	// Tags

	/**
	 * Put the tags of the verdict on the action's recent change.
	 *
	 * @inheritDoc
	 */
	public function onRecentChange_save( $recentChange ) {
		try {
			$logType = (string)$recentChange->getAttribute( 'rc_log_type' );
			$title = (string)$recentChange->getAttribute( 'rc_title' );
			if ( $logType === 'newusers' ) {
				$key = Screener::tagKey( 'createaccount', NS_USER, $title, '' );
			} else {
				$key = Screener::tagKey( $logType !== '' ? $logType : 'edit',
					(int)$recentChange->getAttribute( 'rc_namespace' ), $title,
					(string)$recentChange->getAttribute( 'rc_user_text' ) );
			}
			$tags = $this->screener->takeTags( $key );
			if ( $tags ) {
				$recentChange->addTags( $tags );
				$this->screener->rememberTags( $tags );
			}
		} catch ( Throwable $e ) {
			LoggerFactory::getInstance( 'Vigil' )->error( 'Vigil: tags not applied: {msg}',
				[ 'msg' => $e->getMessage(), 'exception' => $e ] );
		}
		return true;
	}

	/**
	 * @inheritDoc
	 */
	public function onListDefinedTags( &$tags ) {
		$this->addDefinedTags( $tags );
	}

	/**
	 * @inheritDoc
	 */
	public function onChangeTagsListActive( &$tags ) {
		$this->addDefinedTags( $tags );
	}

	/**
	 * @param string[] &$tags
	 */
	private function addDefinedTags( &$tags ): void {
		try {
			$tags = array_values( array_unique( array_merge( $tags, $this->screener->definedTags() ) ) );
		} catch ( Throwable $e ) {
			LoggerFactory::getInstance( 'Vigil' )->error( 'Vigil: tags not declared: {msg}',
				[ 'msg' => $e->getMessage() ] );
		}
	}

	// Autopromotion

	/**
	 * @inheritDoc
	 */
	public function onGetAutoPromoteGroups( $user, &$promote ) {
		try {
			if ( $promote && $this->screener->autopromoteBlocked( (int)$user->getId() ) ) {
				$promote = [];
			}
		} catch ( Throwable $e ) {
			// Promote as usual.
		}
	}
}
