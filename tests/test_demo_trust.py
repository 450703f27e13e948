"""scripts/start keeps the operator's own mail-server settings beside the demo's."""

from __future__ import annotations

from pathlib import Path

from devtools.demo import mail_trust


def test_the_demo_trusts_its_own_server_and_no_more(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MAIL_ALLOWED_PRIVATE_HOSTS", raising=False)
    monkeypatch.delenv("MAIL_CA_FILE", raising=False)
    demo_ca = tmp_path / "demo-ca.pem"
    demo_ca.write_text("DEMO CA\n")

    assert mail_trust(tmp_path, demo_ca) == {
        "MAIL_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
        "MAIL_CA_FILE": str(demo_ca),
    }


def test_the_operators_hosts_and_ca_still_apply(tmp_path: Path, monkeypatch):
    own_ca = tmp_path / "company-ca.pem"
    own_ca.write_text("COMPANY CA\n")
    demo_ca = tmp_path / "demo-ca.pem"
    demo_ca.write_text("DEMO CA\n")
    monkeypatch.setenv("MAIL_ALLOWED_PRIVATE_HOSTS", "10.0.0.5, mail.lan,127.0.0.1")
    monkeypatch.setenv("MAIL_CA_FILE", str(own_ca))

    trust = mail_trust(tmp_path, demo_ca)

    assert trust["MAIL_ALLOWED_PRIVATE_HOSTS"] == "127.0.0.1,10.0.0.5,mail.lan"
    bundle = Path(trust["MAIL_CA_FILE"]).read_text()
    assert "COMPANY CA" in bundle
    assert "DEMO CA" in bundle
