"""The `orosync` entry point: routing, and `config validate` on good and bad files."""

from pathlib import Path

from cli.main import main

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.yaml"


def test_config_validate_exits_0_and_summarises_when_the_file_is_valid(capsys):
    assert main(["config", "validate", str(EXAMPLE)]) == 0
    assert "valid (pricing authority storefront" in capsys.readouterr().out


def test_config_validate_exits_1_naming_each_bad_key_when_the_file_is_invalid(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        EXAMPLE.read_text().replace("authority: storefront", "authority: customer") + "\nbogus: 1\n"
    )
    assert main(["config", "validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "pricing.authority" in err and "bogus: unknown key" in err


def test_unknown_command_exits_2_with_usage(capsys):
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_no_arguments_prints_usage_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: orosync" in capsys.readouterr().out
