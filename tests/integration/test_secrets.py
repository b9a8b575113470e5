"""The secrets reader over the embedded Secrets Manager: a secret holding a system's API credentials that
cannot be read, or lacks a key, is that system's credential outage (retried, alarmed), never a value in text."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities import parameters

from local.provision import put_secrets
from shared.adapters.aws.secrets import get_secret_json
from shared.errors import ConfigError, CredentialsRejected

KEYS = ("account_id", "application_key")


def test_a_credentials_secret_without_a_key_or_missing_is_rejected_credentials_when_read_for_a_system(aws):
    put_secrets({"orosync/test-cin7": {"account_id": "acct-7788", "application_key": ""}})
    parameters.clear_caches()
    with pytest.raises(CredentialsRejected) as caught:
        get_secret_json("orosync/test-cin7", required_keys=KEYS, system="cin7")
    assert caught.value.system == "cin7" and "lacks application_key" in str(caught.value)
    assert "acct-7788" not in f"{caught.value} {caught.value!r}"

    with pytest.raises(CredentialsRejected) as missing:
        get_secret_json("orosync/no-such-secret", required_keys=("client_id",), system="oro")
    assert missing.value.system == "oro" and "could not be read" in str(missing.value)

    # Read for no system (the webhook's HMAC secret): a configuration error, as before.
    with pytest.raises(ConfigError):
        get_secret_json("orosync/test-cin7", required_keys=KEYS)
    parameters.clear_caches()
