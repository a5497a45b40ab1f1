"""Issue 9: the context rules around the model's personal-data spans (nlpserve.tasks.pii_context) and the new
patterns (IPv6, US military mail, "City, ST 12345"). Each leak kind the issue lists has a case here; the
numbers they move are measured on the held-out personal-data set (README)."""

import pytest
from nlpserve.tasks import pii_context, recognizers
from nlpserve.tasks.ner import Entity


def ent(text, value, kind, start=None, source="model"):
    start = text.index(value) if start is None else start
    return Entity(type=kind, text=value, start=start, end=start + len(value), score=0.95, source=source)


def found(text, entities):
    return [(e.type, e.text) for e in pii_context.complete(text, sorted(entities, key=lambda e: e.start))]


@pytest.mark.parametrize("unit", ["Apt. 656", "Suite 282", "Unit 4719", "Flat 3B", "apt 4b", "Studio 3"])
def test_a_unit_designator_next_to_a_street_joins_the_address(unit):
    text = f"Ship to 975 Brown Gardens {unit}, East Alexandraview"
    got = found(text, [ent(text, "975", "BUILDING_NUMBER"), ent(text, "Brown Gardens", "STREET_NAME"),
                       ent(text, "East Alexandraview", "CITY")])
    assert ("SECONDARY_ADDRESS", unit) in got


def test_when_the_model_tagged_only_the_units_number_the_designator_widens_it():
    text = "5 Address: 91255 Patricia Station Apt. 624, Port Tyler"
    got = found(text, [ent(text, "Patricia Station", "STREET_NAME"), ent(text, "624", "BUILDING_NUMBER"),
                       ent(text, "Port Tyler", "CITY")])
    assert ("SECONDARY_ADDRESS", "Apt. 624") in got and ("BUILDING_NUMBER", "624") not in got
    assert ("BUILDING_NUMBER", "91255") in got  # the house number before the street joins too


def test_a_room_number_far_from_any_address_is_left_alone():
    text = "We meet in Room 4 with 12 people; Jane brings the slides."
    assert found(text, [ent(text, "Jane", "GIVEN_NAME")]) == [("GIVEN_NAME", "Jane")]


def test_a_house_number_after_the_street_joins_it():
    text = "Rosalinde-Trupp-Straße 3\n26162 Weißenfels"
    got = found(text, [ent(text, "Rosalinde-Trupp-Straße", "STREET_NAME"), ent(text, "26162", "ZIP_CODE"),
                       ent(text, "Weißenfels", "CITY")])
    assert ("BUILDING_NUMBER", "3") in got


def test_military_addresses_and_state_codes_are_found_by_pattern():
    text = "PSC 0413, Box 8144\nAPO AA 42323 and Lisaport, NE 98686"
    got = [(m.type, text[m.start:m.end]) for m in recognizers.find(text)]
    assert got == [("SECONDARY_ADDRESS", "PSC 0413, Box 8144"), ("CITY", "APO"), ("STATE", "AA"),
                   ("ZIP_CODE", "42323"), ("STATE", "NE"), ("ZIP_CODE", "98686")]
    assert recognizers.find("Flight NH 7813 to Boston") == []  # not a state + ZIP


def test_ipv6_addresses_are_found_and_times_are_not():
    text = "login from 2001:db8:85a3::8a2e:370:7334 at 12:30:45, fe80::1ff:fe23:4567:890a later"
    got = [text[m.start:m.end] for m in recognizers.find(text) if m.type == "IP_ADDRESS"]
    assert got == ["2001:db8:85a3::8a2e:370:7334", "fe80::1ff:fe23:4567:890a"]


@pytest.mark.parametrize(("text", "value", "kind"), [
    ("Order no.: SO51345455 shipped", "SO51345455", "PASSPORT"),
    ("Tracking number: 9400 1353 7475 4871", "9400 1353 7475 4871", "DRIVERS_LICENSE"),
    ("we calling about invoice F35377269.", "F35377269", "PASSPORT"),
    ("Firmware build 3.1.2.4462 fixed it", "3.1.2.4462", "PHONE"),
    ("When: 2023-05-05 12:07 UTC", "2023-05-05 12", "PHONE"),
    ("Chrome/106.0.3745.140", "106.0.3745.140", "PHONE"),
    ("Order numbers: #7129560, SO20695726\n", "SO20695726", "PASSPORT"),  # a list after the label
    ("Номер заказа: SO21222194", "SO21222194", "PASSPORT"),
    ("request=db148450-b76d-4989-8424-fb0749fa1c3e", "fb0749fa1c3e", "DRIVERS_LICENSE"),  # a UUID piece
])
def test_numbers_their_label_or_shape_calls_non_personal_are_dropped(text, value, kind):
    assert found(text, [ent(text, value, kind)]) == []


def test_a_phone_longer_than_e164_is_kept_as_an_account_number():
    text = "Rachunek: 61 1090 1014 0000 0712 1981 2874"
    value = text.split(": ")[1]
    assert found(text, [ent(text, value, "PHONE")]) == [("BANK_ACCOUNT", value)]


@pytest.mark.parametrize(("text", "value"), [
    ("Passport no.: E68659373", "E68659373"), ("call 001-892-355-2119x993 today", "001-892-355-2119x993"),
    ("Tel. 415.555.0132", "415.555.0132"), ("tél. 01.23.45.67.89", "01.23.45.67.89"),
])
def test_real_ids_and_phones_stay(text, value):
    kind = "PASSPORT" if "Passport" in text else "PHONE"
    assert found(text, [ent(text, value, kind)]) == [(kind, value)]


def test_names_are_completed_around_what_the_model_found():
    text = "Hi, this is Lauren C. Rowe. Ms. Lindqvist agreed; later lauren wrote again.\n[17:22] edward: hey"
    got = found(text, [ent(text, "Lauren", "GIVEN_NAME")])
    assert ("GIVEN_NAME", "C.") in got and ("SURNAME", "Rowe") in got  # middle initial, then the surname
    assert ("SURNAME", "Lindqvist") in got  # after an honorific
    assert ("GIVEN_NAME", "lauren") in got  # another mention, any case
    assert ("GIVEN_NAME", "edward") in got  # a chat speaker label


def test_a_capitalised_function_word_after_a_first_name_is_not_a_surname():
    text = "Thanks Maria Please see the attached file. [10:42] support: ok"
    got = found(text, [ent(text, "Maria", "GIVEN_NAME")])
    assert got == [("GIVEN_NAME", "Maria")]


def test_a_city_on_its_own_is_not_an_address_but_one_in_an_address_is():
    text = "Flights to Lisbon are cheap. Send it to 12 Rua Augusta, Lisbon 1100-048."
    alone, street = text.index("Lisbon"), text.rindex("Lisbon")
    model = [ent(text, "Lisbon", "CITY", alone), ent(text, "12", "BUILDING_NUMBER"),
             ent(text, "Rua Augusta", "STREET_NAME"), ent(text, "Lisbon", "CITY", street)]
    cities = [e.start for e in pii_context.complete(text, model) if e.type == "CITY"]
    assert cities == [street]


@pytest.mark.parametrize(("text", "names"), [
    ("Hola Marta:\n\nTe paso los datos", [("GIVEN_NAME", "Marta")]),
    ("Account holder: Αθηνόδωρος Κατεβάτης\nAddress:", [("GIVEN_NAME", "Αθηνόδωρος"), ("SURNAME", "Κατεβάτης")]),
    ("ФИО: Тетерин Фока\nДата рождения", [("GIVEN_NAME", "Тетерин"), ("SURNAME", "Фока")]),
    ("Passenger 1: LOPES/LAURE MS – seat 37E", [("SURNAME", "LOPES"), ("GIVEN_NAME", "LAURE")]),
    ("Best regards,\nChrysi Katsilli\nSurveyor", [("GIVEN_NAME", "Chrysi"), ("SURNAME", "Katsilli")]),
])
def test_names_after_a_greeting_a_form_field_or_a_sign_off_in_any_script(text, names):
    assert found(text, []) == names


@pytest.mark.parametrize("text", ["Dear Data Protection Officer,\n\nI am writing", "Hi all,\nthanks", "Name: The Order Desk"])
def test_a_greeting_to_a_role_is_not_a_name(text):
    assert found(text, []) == []


# --- session 2026-12-01: address tails, phones, labels, organisations, URLs ---------------------------------

@pytest.mark.parametrize("tail, parts", [
    (", FM 61241", [("STATE", "FM"), ("ZIP_CODE", "61241")]),
    (", NU J1V6H8\nCanada", [("STATE", "NU"), ("ZIP_CODE", "J1V6H8"), ("COUNTRY", "Canada")]),
    (" (AN)\nItaly", [("STATE", "AN"), ("COUNTRY", "Italy")]),
    ("\nDeutschland", [("COUNTRY", "Deutschland")]),
    (", UK", [("COUNTRY", "UK")]),
])
def test_the_state_postcode_and_country_closing_an_address_block_join_it(tail, parts):
    text = f"Ship to:\n12 Harbour Road\nAngelaside{tail}\n\nThanks"
    got = found(text, [ent(text, "12", "BUILDING_NUMBER"), ent(text, "Harbour Road", "STREET_NAME"),
                       ent(text, "Angelaside", "CITY")])
    for part in parts:
        assert part in got


def test_a_country_named_outside_an_address_is_not_redacted():
    text = "I moved to Canada last year and love Italy too."
    assert found(text, []) == []


def test_a_brazilian_cep_line_is_postcode_city_and_state():
    text = "Praia Asafe Carvalho, 937\n59840803 Rezende do Oeste / RN"
    got = found(text, [ent(text, "Praia Asafe Carvalho", "STREET_NAME"), ent(text, "59840803", "BANK_ACCOUNT")])
    assert ("ZIP_CODE", "59840803") in got and ("CITY", "Rezende do Oeste") in got and ("STATE", "RN") in got
    assert ("BANK_ACCOUNT", "59840803") not in got


@pytest.mark.parametrize("text, model_part, whole", [
    ("Call 001-892-355-2119x993 today", "001-892-355", "001-892-355-2119x993"),
    ("Tel: +44(0)3069990310", "(0)3069990310", "+44(0)3069990310"),
    ("ring 8 (581) 203-14-43 please", "203-14-43", "8 (581) 203-14-43"),
    ("Phone (415) 555-0193 ext. 214.", "(415) 555-0193", "(415) 555-0193 ext. 214"),
])
def test_a_phones_prefix_area_code_and_extension_join_it(text, model_part, whole):
    assert ("PHONE", whole) in found(text, [ent(text, model_part, "PHONE")])


@pytest.mark.parametrize("label, kind", [
    ("Fax:", "PHONE"), ("Kontonummer:", "BANK_ACCOUNT"), ("A/c no.:", "BANK_ACCOUNT"), ("NIF", "TAX_ID"),
    ("Passport no.:", "PASSPORT"), ("Best number:", "PHONE"), ("Card number:", "CREDIT_CARD"),
])
def test_a_free_form_number_takes_the_kind_its_label_names(label, kind):
    text = f"Details\n{label} 81384505486\nThanks"
    got = found(text, [ent(text, "81384505486", "TAX_ID" if kind != "TAX_ID" else "PHONE")])
    assert got == [(kind, "81384505486")]


@pytest.mark.parametrize("text", ["Reference: F46718754 / 130672469", "Weekly metrics: 119248566 page views"])
def test_references_and_counts_are_not_ids(text):
    number = next(w for w in text.replace("/", " ").split() if w[-1].isdigit() and len(w) > 6)
    assert found(text, [ent(text, number, "PASSPORT")]) == []


@pytest.mark.parametrize("text, org_names, person", [
    ("Employer: Castillo, Moore and Jones – monthly salary", ["Castillo", "Moore", "Jones"], None),
    ("Invoice from Hancock LLC to Mary Poole", ["Hancock"], ("GIVEN_NAME", "Mary")),
    ("Agreement between Westin & Lundgren HB and us", ["Westin", "Lundgren"], None),
    ("Dear Mr. Owen, thanks", [], ("SURNAME", "Owen")),
])
def test_names_inside_a_company_name_and_titles_alone_are_not_people(text, org_names, person):
    ents = [ent(text, n, "SURNAME") for n in org_names]
    if "Mary" in text:
        ents += [ent(text, "Mary", "GIVEN_NAME"), ent(text, "Poole", "SURNAME")]
    if "Mr." in text:
        ents += [ent(text, "Mr", "GIVEN_NAME"), ent(text, "Owen", "SURNAME")]
    got = found(text, ents)
    assert not any(value in org_names or value == "Mr" for _, value in got)
    if person:
        assert person in got


@pytest.mark.parametrize("url, personal", [
    ("https://www.linkedin.com/in/gunnarantonsson", True),
    ("https://app.clark.com/users/alyssa445", True),
    ("https://medium.com/@jules.bartels", True),
    ("https://www.dungduong.com/about", True),  # a personal site named after the person in the text
    ("https://www.office365.com", False),  # a brand with digits is not a handle
    ("https://docs.github.com/en/get-started", False),  # a profile host's own pages
    ("https://github.com/pricing", False),
    ("https://www.youtube.com/watch?v=abc123", False),
    ("https://www.mysite.com/contact?name=John+Smith&phone=5551234567", True),  # personal data in the query
    ("https://www.acme.com/about/dung-duong", True),  # a page named after the person
    ("https://calendly.com/jdoe/30min", True),
    ("https://status.brown.com/", False),
    ("https://account.bernard-duncan.com/security/reset", False),
    ("https://docs.rice.info/v1/api", False),
    ("https://www.linkedin.com/", False),
])
def test_only_urls_that_identify_a_person_are_personal_data(url, personal):
    text = f"From Dũng Dương: see {url} for more."
    ents = [ent(text, "Dũng", "GIVEN_NAME"), ent(text, "Dương", "SURNAME"), ent(text, url, "URL", source="pattern")]
    assert (("URL", url) in found(text, ents)) is personal


@pytest.mark.parametrize("label, value, source, kind", [
    ("Mein Konto:", "415-555-0123", "pattern", "BANK_ACCOUNT"),  # phone-shaped, but the label says account
    ("Phone:", "DE89 3704 0044 0532 0130 00", "pattern", "BANK_ACCOUNT"),  # an IBAN keeps its type
    ("Konto:", "4111 1111 1111 1111", "pattern", "CREDIT_CARD"),  # a Visa-range Luhn number stays a card
    ("银行账号:", "7095 9550 5737 9780 222", "pattern", "BANK_ACCOUNT"),  # outside the card ranges
])
def test_labels_retype_free_form_numbers_but_not_checksummed_ones(label, value, source, kind):
    text = f"{label} {value}"
    typed = "PHONE" if kind == "BANK_ACCOUNT" and "-" in value else ("BANK_ACCOUNT" if value.startswith("DE")
                                                                     else "CREDIT_CARD")
    assert found(text, [ent(text, value, typed, source=source)]) == [(kind, value)]


def test_a_name_the_model_read_as_a_street_after_a_person_field_is_a_name_everywhere():
    text = "Account holder: Αθηνόδωρος Κατεβάτης\nAddress: Πλατεία Μεσκλών 7\nSigned by Αθηνόδωρος Κατεβάτης."
    got = found(text, [ent(text, "Αθηνόδωρος Κατεβάτης", "STREET_NAME"), ent(text, "Πλατεία Μεσκλών", "STREET_NAME")])
    assert ("GIVEN_NAME", "Αθηνόδωρος Κατεβάτης") in got and ("STREET_NAME", "Πλατεία Μεσκλών") in got
    assert [v for k, v in got if k in ("GIVEN_NAME", "SURNAME")].count("Αθηνόδωρος") == 1  # the second mention


@pytest.mark.parametrize("text, name", [
    ("Call with 최영호 (주식회사 겨레) went well", "최영호"),
    ("Emergency contact: איילה לוי (parent), 053 6281348", "איילה"),
    ("please cc 문현정 from procurement", "문현정"),
])
def test_names_in_scripts_without_case_after_a_cue(text, name):
    assert any(value == name for _, value in found(text, []))


@pytest.mark.parametrize("number, in_range", [
    ("4111 1111 1111 1111", True), ("3714 496353 98431", True), ("3755351257652337", False),
    ("7095 9550 5737 9780 222", False), ("5500 0000 0000 0004", True),
])
def test_card_network_ranges(number, in_range):
    assert pii_context.in_card_range(number) is in_range


@pytest.mark.parametrize("text, value", [("Postcode: BT1 5GS", "BT1 5GS"), ("Billing ZIP: 94105", "94105")])
def test_a_postcode_after_its_own_label_is_kept_alone(text, value):
    assert found(text, [ent(text, value, "ZIP_CODE")]) == [("ZIP_CODE", value)]


def test_a_site_on_a_personal_top_level_domain_is_personal():
    text = "my cv is on www.tomaszw.dev"
    assert found(text, [ent(text, "www.tomaszw.dev", "URL", source="pattern")]) == [("URL", "www.tomaszw.dev")]


# --- found by a new-user break test (2026-12-01) ---------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Order " + "1/" * 36 + "1 - call me on 07700 900123",
    "Order " + "7, " * 40 + "7 - call me",
    "Ticket " + "a-" * 40 + "b and " * 20,
])
def test_reference_labels_take_linear_time(text):
    import time

    t0 = time.perf_counter()
    pii_context.complete(text, [ent(text, "07700 900123", "PHONE")] if "07700" in text else [])
    assert time.perf_counter() - t0 < 0.5


def test_organisation_lists_take_linear_time():
    import time

    text = ", ".join(["Ab"] * 4000)
    t0 = time.perf_counter()
    pii_context.organisation_spans(text)
    assert time.perf_counter() - t0 < 0.5


@pytest.mark.parametrize("text, names", [
    ("Hi Anna, Ben and Carla,\nthanks for joining.", ["Anna", "Ben", "Carla"]),
    ("Thanks to Maria, Pedro and Lucia for organising the party.", ["Maria", "Pedro", "Lucia"]),
    ("This is Tom Baker customer support, how can I help you today?", ["Tom", "Baker"]),
    ("I spoke with Jessica Alvarez team leader at your call centre", ["Jessica", "Alvarez"]),
    ("Firma: Juan Pérez", ["Juan", "Pérez"]),
    ("Employer: Northwind Traders, supervisor Jane Miller", ["Jane", "Miller"]),
    ("Company: Jane Doe (self-employed)", ["Jane", "Doe"]),
])
def test_people_next_to_organisation_cues_stay_people(text, names):
    ents = [ent(text, n, "GIVEN_NAME" if k == 0 else "SURNAME") for k, n in enumerate(names)]
    got = [v for _, v in found(text, ents)]
    assert all(n in got for n in names), got


@pytest.mark.parametrize("text", ["Callback request: 07700 900123", "Order today 07700 900123"])
def test_a_phone_after_words_that_only_look_like_reference_labels_stays(text):
    assert ("PHONE", "07700 900123") in found(text, [ent(text, "07700 900123", "PHONE")])


def test_a_phone_the_model_called_a_postcode_is_not_dropped_as_a_lone_postcode():
    text = "Regards,\nJohn Smith\nSmith & Sons Plumbing\n07700 900456"
    assert ("PHONE", "07700 900456") in found(text, [ent(text, "07700 900456", "ZIP_CODE")])


def test_lower_case_everyday_words_are_not_mentions_of_a_name():
    text = "Hi, I'm Will Turner. I will call you tomorrow and will bring the grace period form."
    got = found(text, [ent(text, "Will", "GIVEN_NAME"), ent(text, "Turner", "SURNAME")])
    assert [v for _, v in got] == ["Will", "Turner"]


@pytest.mark.parametrize("text, country", [("I am travelling to Jordan next month", "Jordan"), ("Country: Chad", "Chad")])
def test_a_country_after_a_place_word_is_not_a_person(text, country):
    assert found(text, [ent(text, country, "GIVEN_NAME")]) == []


def test_a_person_named_like_a_country_stays():
    text = "Thanks, Jordan Peterson"
    got = found(text, [ent(text, "Jordan", "GIVEN_NAME"), ent(text, "Peterson", "SURNAME")])
    assert ("GIVEN_NAME", "Jordan") in got


def test_a_department_signing_off_is_not_a_person():
    assert found("Kind regards,\nReception", []) == []
