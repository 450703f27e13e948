"""URLs of the mailbox pages, under /mail/."""

from django.urls import path

from webmail.views import (
    body,
    bulk,
    conversations,
    images,
    mailbox,
    notify,
    parts,
    search,
    seen,
)

message = "<int:account_id>/<int:folder_id>/<int:uid>/"

urlpatterns = [
    path("image/<int:user_id>/<str:token>", images.image_proxy, name="image_proxy"),
    path(
        "part/<int:user_id>/<str:token>",
        parts.inline_part_view,
        name="mail_inline_part",
    ),
    path("new-mail", notify.new_mail_view, name="mail_new"),
    path("<int:account_id>/", mailbox.account_view, name="mail_account"),
    path("<int:account_id>/search", search.search_view, name="mail_search"),
    path(
        "<int:account_id>/search/bulk",
        bulk.search_bulk_view,
        name="mail_search_bulk",
    ),
    path(
        "<int:account_id>/failures/<int:operation_id>/dismiss",
        mailbox.dismiss_failure_view,
        name="mail_dismiss_failure",
    ),
    path("<int:account_id>/<int:folder_id>/", mailbox.folder_view, name="mail_folder"),
    path("<int:account_id>/<int:folder_id>/bulk", bulk.bulk_view, name="mail_bulk"),
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
    path(message + "delete", mailbox.delete_view, name="mail_delete"),
    path(message + "part/<str:part_id>", parts.part_view, name="mail_part"),
    path(message + "attachments.zip", parts.zip_view, name="mail_parts_zip"),
    path(message + "source", parts.source_view, name="mail_source"),
    path(message + "eml", parts.eml_view, name="mail_eml"),
    path(message + "print", parts.print_view, name="mail_print"),
    path(message + "allow-sender", mailbox.allow_sender_view, name="mail_allow"),
]
