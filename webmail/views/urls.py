"""URLs of the mailbox pages, under /mail/."""

from django.urls import path

from webmail.views import (
    actions,
    body,
    bulk,
    compose,
    conversations,
    folders,
    images,
    mailbox,
    notify,
    parts,
    search,
    seen,
)

message = "<id:account_id>/<id:folder_id>/<uid:uid>/"

urlpatterns = [
    path("image/<id:user_id>/<str:token>", images.image_proxy, name="image_proxy"),
    path(
        "part/<id:user_id>/<str:token>",
        parts.inline_part_view,
        name="mail_inline_part",
    ),
    path("new-mail", notify.new_mail_view, name="mail_new"),
    path("<id:account_id>/", mailbox.account_view, name="mail_account"),
    path("<id:account_id>/search", search.search_view, name="mail_search"),
    path("<id:account_id>/compose/", compose.compose_view, name="mail_compose"),
    path("<id:account_id>/folders/", folders.folders_view, name="mail_folders"),
    path(
        "<id:account_id>/folders/new",
        folders.create_view,
        name="mail_folder_create",
    ),
    path(
        "<id:account_id>/folders/special",
        folders.special_view,
        name="mail_folder_special",
    ),
    path(
        "<id:account_id>/folders/uses",
        folders.uses_view,
        name="mail_folder_uses",
    ),
    path(
        "<id:account_id>/folders/<id:folder_id>/rename",
        folders.rename_view,
        name="mail_folder_rename",
    ),
    path(
        "<id:account_id>/folders/<id:folder_id>/delete",
        folders.delete_view,
        name="mail_folder_delete",
    ),
    path(
        "<id:account_id>/folders/<id:folder_id>/empty",
        actions.empty_view,
        name="mail_folder_empty",
    ),
    path(
        "<id:account_id>/folders/<id:folder_id>/subscribe",
        folders.subscribe_view,
        name="mail_folder_subscribe",
    ),
    path(
        "<id:account_id>/compose/sent/<id:outgoing_id>",
        compose.outgoing_view,
        name="mail_outgoing",
    ),
    path(
        "<id:account_id>/search/bulk",
        bulk.search_bulk_view,
        name="mail_search_bulk",
    ),
    path(
        "<id:account_id>/failures/<id:operation_id>/dismiss",
        mailbox.dismiss_failure_view,
        name="mail_dismiss_failure",
    ),
    path("<id:account_id>/<id:folder_id>/", mailbox.folder_view, name="mail_folder"),
    path("<id:account_id>/<id:folder_id>/bulk", bulk.bulk_view, name="mail_bulk"),
    path(message, mailbox.message_view, name="mail_message"),
    path(
        message + "wait/<str:token>",
        mailbox.message_wait_view,
        name="mail_message_wait",
    ),
    path(message + "thread", conversations.conversation_view, name="mail_conversation"),
    path(
        message + "thread/seen",
        conversations.conversation_seen_view,
        name="mail_conversation_seen",
    ),
    path(message + "body", body.body_view, name="mail_body"),
    path(
        message + "body/wait/<str:token>",
        body.body_wait_view,
        name="mail_body_wait",
    ),
    path(message + "flag", mailbox.flag_view, name="mail_flag"),
    path(message + "seen", seen.seen_view, name="mail_seen"),
    path(message + "delete", actions.delete_view, name="mail_delete"),
    path(message + "unread", actions.unread_view, name="mail_unread"),
    path(message + "move", actions.move_view, name="mail_move"),
    path(message + "archive", actions.archive_view, name="mail_archive"),
    path(message + "spam", actions.spam_view, name="mail_spam"),
    path(message + "not-spam", actions.not_spam_view, name="mail_not_spam"),
    path(message + "part/<str:part_id>", parts.part_view, name="mail_part"),
    path(message + "attachments.zip", parts.zip_view, name="mail_parts_zip"),
    path(message + "source", parts.source_view, name="mail_source"),
    path(message + "eml", parts.eml_view, name="mail_eml"),
    path(message + "print", parts.print_view, name="mail_print"),
    path(message + "allow-sender", mailbox.allow_sender_view, name="mail_allow"),
]
