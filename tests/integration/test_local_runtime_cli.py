"""`orosync local up`: argument and config errors exit with the problem named; a full start prints where
everything is and stops cleanly. No route is called here: the real handlers have their own tests."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path

import boto3
import httpx
import pytest

from local import cli
from local.aws import free_port

EXAMPLE_CONFIG = str(Path(__file__).resolve().parents[2] / "config" / "example.yaml")
SECRETS = {
    "orosync/oro-client": {"client_id": "id", "client_secret": "s3"},
    "orosync/oro-webhook": {"secret": "hmac"},
    "orosync/cin7-orders": {"account_id": "acc", "application_key": "key"},
    "orosync/cin7-webhook": {"secret": "header-value"},
}


def test_local_up_requires_a_config(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2
    assert "--config" in capsys.readouterr().err


def test_local_up_names_the_bad_key_when_the_config_is_invalid(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(EXAMPLE_CONFIG).read_text().replace("authority: storefront", "authority: nobody"))
    assert cli.main(["--config", str(bad)]) == 1
    assert "pricing.authority" in capsys.readouterr().err


def test_local_up_rejects_a_time_scale_that_is_not_positive(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--config", EXAMPLE_CONFIG, "--time-scale", "0"])
    assert "--time-scale: must be greater than 0" in capsys.readouterr().err


def test_local_up_rejects_an_unsupported_cron_schedule(tmp_path, capsys):
    cfg = tmp_path / "cron.yaml"
    cfg.write_text(
        Path(EXAMPLE_CONFIG)
        .read_text()
        .replace("order_poll: rate(5 minutes)", "order_poll: cron(0 12 L * ? *)")
    )
    assert cli.main(["--config", str(cfg)]) == 1
    assert "schedules.order_poll" in capsys.readouterr().err


def test_local_up_rejects_a_secrets_file_that_is_not_a_mapping_of_objects(tmp_path, capsys):
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"orosync/oro-webhook": "plain"}))
    assert cli.main(["--config", EXAMPLE_CONFIG, "--secrets-file", str(secrets)]) == 1
    assert "secret 'orosync/oro-webhook' must be a JSON object" in capsys.readouterr().err


def test_local_up_lists_the_missing_secrets_when_none_were_given(aws, capsys):
    # The embedded endpoint is shared by the worker's tests: make sure none left these secrets behind.
    secrets = boto3.client("secretsmanager", endpoint_url=aws.endpoint_url)
    for name in SECRETS:
        with contextlib.suppress(secrets.exceptions.ResourceNotFoundException):
            secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    stop = threading.Event()
    timer = threading.Timer(30, stop.set)  # if it started after all, it stops (and the test fails)
    timer.start()
    try:
        code = cli.main(
            ["--config", EXAMPLE_CONFIG, "--aws-endpoint", aws.endpoint_url, "--port", str(free_port())],
            stop,
        )
    finally:
        timer.cancel()
    assert code == 1
    err = capsys.readouterr().err
    assert "lacks orosync/cin7-orders, orosync/cin7-webhook, orosync/oro-client, orosync/oro-webhook" in err
    assert "--secrets-file" in err


def test_local_up_serves_until_stopped_on_the_embedded_endpoint(aws, tmp_path, capsys):
    # `aws` only to reset moto's in-process state afterwards: the embedded server shares it.
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps(SECRETS))
    port = free_port()
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(
            cli.main(
                [
                    "--config",
                    EXAMPLE_CONFIG,
                    "--port",
                    str(port),
                    "--secrets-file",
                    str(secrets),
                    "--state-dir",
                    str(tmp_path / "state"),
                ],
                stop=stop,
            )
        )
    )
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 404
                break
            except httpx.TransportError:
                assert thread.is_alive() and time.monotonic() < deadline, "local up did not start"
                time.sleep(0.1)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert result == [0]
    out = capsys.readouterr().out
    assert "on embedded AWS at http://127.0.0.1:" in out
    assert f"POST   http://127.0.0.1:{port}/webhooks/oro  -> webhook_ingest" in out
    assert "orosync-local-orders" in out and "orosync-local-orders-dlq" in out
    assert "orosync-local-state" in out
    saved = tmp_path / "state" / "orosync-local.json"
    assert f"state: kept in {saved} (nothing to restore)" in out
    assert saved.is_file()  # saved on the way out, for the next start
    assert "order_poll" in out and "rate(5 minutes)" in out
    assert "invocations" in out  # the summary printed on the way out


@pytest.mark.parametrize(
    "content",
    [b"\x00\xff not json", b"[1, 2]", b'{"format": 99}', b'{"format": 1, "tables": [], "queues": 3}'],
    ids=["binary", "a list", "another format", "wrong shapes"],
)
def test_local_up_names_a_state_file_it_cannot_restore_and_keeps_it(aws, tmp_path, capsys, content):
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps(SECRETS))
    saved = tmp_path / "state" / "orosync-local.json"
    saved.parent.mkdir()
    saved.write_bytes(content)
    stop = threading.Event()
    stop.set()  # if it started after all, it stops at once (and the assertions below fail)
    code = cli.main(
        [
            "--config",
            EXAMPLE_CONFIG,
            "--port",
            str(free_port()),
            "--secrets-file",
            str(secrets),
            "--state-dir",
            str(saved.parent),
        ],
        stop=stop,
    )
    assert code == 1
    err = capsys.readouterr().err
    assert f"cannot restore the state saved in {saved}" in err and "--ephemeral" in err
    assert saved.read_bytes() == content  # nothing overwritten: the operator decides what to do with it
