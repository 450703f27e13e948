"""Calendar invitations read for the reading pane: the facts, or "broken"."""

from __future__ import annotations

from webmail.mime.calendar import MAX_INVITATION, Invitation, read_invitation


def calendar(*lines: str, method: str = "REQUEST") -> bytes:
    return "\r\n".join(
        ["BEGIN:VCALENDAR", "VERSION:2.0", f"METHOD:{method}", "BEGIN:VEVENT",
         *lines, "END:VEVENT", "END:VCALENDAR", ""]
    ).encode()  # fmt: skip


def test_a_meeting_gives_its_time_place_and_organizer():
    invitation = read_invitation(
        calendar(
            "SUMMARY:Planning\\, second round",
            "DTSTART:20261210T010000Z",
            "DTEND:20261210T023000Z",
            "LOCATION:Room 4",
            'ORGANIZER;CN="Dana Sender":MAILTO:dana@example.net',
        )
    )

    assert invitation == Invitation(
        summary="Planning, second round",
        start="2026-12-10T01:00:00+00:00",
        end="2026-12-10T02:30:00+00:00",
        location="Room 4",
        organizer_name="Dana Sender",
        organizer_address="dana@example.net",
        method="REQUEST",
    )


def test_a_whole_day_and_a_floating_time_keep_their_form():
    day = read_invitation(calendar("DTSTART;VALUE=DATE:20261224", method="PUBLISH"))
    floating = read_invitation(calendar("DTSTART:20261224T180000"))

    assert (day.start, day.method, day.broken) == ("2026-12-24", "PUBLISH", False)
    assert floating.start == "2026-12-24T18:00:00"


def test_a_cancellation_in_shift_jis_reads_too():
    data = calendar("SUMMARY:定例会議", "DTSTART:20261210T010000Z", method="CANCEL")

    invitation = read_invitation(data.decode().encode("shift_jis"), "shift_jis")

    assert (invitation.summary, invitation.method) == ("定例会議", "CANCEL")


def test_what_cannot_be_read_is_broken():
    for data in (
        b"",
        b"\x00\xffnot a calendar",
        calendar("SUMMARY:No start"),
        calendar("DTSTART:tomorrow"),
        b"BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
        calendar("DTSTART:20261210T010000Z", "DESCRIPTION:" + "x" * MAX_INVITATION),
    ):
        assert read_invitation(data) == Invitation(broken=True), data[:40]
