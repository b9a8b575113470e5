"""Personal data never reaches the logs unmasked."""

from shared.observability import mask_personal


def test_personal_fields_and_emails_are_masked():
    data = {
        "Email": "jane@acme.example",
        "name": "Acme",
        "Contacts": [{"Phone": "+61 3 9000", "Name": "x"}],
        "note": "call jane@acme.example",
        "Line1": "",
        "qty": 3,
    }
    masked = mask_personal(data)
    assert masked["Email"] == "***"
    assert masked["Contacts"][0]["Phone"] == "***"
    assert masked["note"] == "call ***@***"
    assert masked["name"] == "Acme" and masked["qty"] == 3 and masked["Line1"] == ""
