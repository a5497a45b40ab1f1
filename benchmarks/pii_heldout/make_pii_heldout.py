"""Deterministic generator for the PII held-out evaluation set.

    venv/bin/python make_pii_heldout.py            # writes pii_heldout.jsonl

Inputs : pii_handwritten.jsonl (made by convert_handwritten.py from handwritten_src.txt)
Output : pii_heldout.jsonl     (generated + hand-written, with the dev/test split)

Everything is driven by fixed seeds (SEED below, per-locale seeds derived with crc32),
so the same Faker version gives byte-identical output. Texts are built with inline
markers ([[TYPE:SUBTYPE|value]], see piilib.py) and converted to code-point offsets.
"""
import os
import sys

# String hashing is randomised per process; a few things (set iteration, and Faker's it_IT
# city list, which is built from a set) depend on it. Re-run with a fixed hash seed so that
# the output is byte-identical from run to run.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, "PYTHONHASHSEED": "0"})

import datetime as dt
import json
import random
import re
import string
import unicodedata
import zlib
from collections import Counter, defaultdict
from pathlib import Path

import faker
from faker import Faker
from faker.providers.address.it_IT import Provider as _ItAddress
from faker.providers.person.ru_RU import translit
from piilib import UNIT_RE, A, P, mark, parse_markup

_ItAddress.cities = sorted(_ItAddress.cities)   # belt and braces: Faker builds it from a set

SEED = 20240611            # master seed for everything
SPLIT_SEED = 7301          # seed for the dev/test split
DEV_FRACTION = 0.30
HERE = Path(__file__).resolve().parent
FAKER_VERSION = faker.VERSION

# locale -> number of template instances to generate
LOCALE_PLAN = [
    ("en_US", 150), ("en_GB", 60), ("en_IN", 40), ("en_AU", 36), ("en_CA", 30),
    ("de_DE", 46), ("fr_FR", 44), ("es_ES", 40), ("it_IT", 36), ("nl_NL", 34),
    ("pt_BR", 34), ("pl_PL", 34), ("sv_SE", 30), ("cs_CZ", 24), ("vi_VN", 24),
    ("ru_RU", 30), ("el_GR", 24), ("ja_JP", 28), ("zh_CN", 28), ("ko_KR", 22), ("he_IL", 20),
]
NOPII_SHARE = 0.11


def lseed(*parts):
    return zlib.crc32("|".join(str(p) for p in parts).encode()) ^ SEED


# ------------------------------------------------------------------ text helpers
def ascii_fold(s):
    for a, b in (("ß", "ss"), ("ł", "l"), ("Ł", "L"), ("đ", "d"), ("Đ", "D"), ("ø", "o"),
                 ("Ø", "O"), ("æ", "ae"), ("œ", "oe"), ("ı", "i")):
        s = s.replace(a, b)
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s if not unicodedata.combining(c))


def slug(s):
    return "".join(c for c in ascii_fold(s).lower() if c in string.ascii_lowercase + string.digits)


def luhn_digit(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def iban_from_bban(cc, bban):
    num = "".join(str(int(c, 36)) for c in (bban + cc + "00"))
    check = 98 - int(num) % 97
    return f"{cc}{check:02d}{bban}"


def group4(s):
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


def call(obj, *names):
    for n in names:
        m = getattr(obj, n, None)
        if m is not None:
            try:
                return m()
            except (AttributeError, TypeError):
                continue
    raise AttributeError(names)


# ------------------------------------------------------------------ locale config
CFG = {
    "en_US": {"style": "western", "lang": "en", "country": ["United States", "USA", "U.S.A."], "cur": "usd", "mi": 0.35},
    "en_GB": {"style": "western", "lang": "en", "country": ["United Kingdom", "UK"], "cur": "gbp", "mi": 0.2},
    "en_IN": {"style": "western", "lang": "en", "country": ["India"], "cur": "inr", "mi": 0.1},
    "en_AU": {"style": "western", "lang": "en", "country": ["Australia"], "cur": "aud", "mi": 0.2},
    "en_CA": {"style": "western", "lang": "en", "country": ["Canada"], "cur": "cad", "mi": 0.3},
    "de_DE": {"style": "western", "lang": "de", "country": ["Germany", "Deutschland"], "cur": "eur_de", "mi": 0.1},
    "fr_FR": {"style": "western", "lang": "fr", "country": ["France"], "cur": "eur_fr", "mi": 0.05},
    "es_ES": {"style": "es", "lang": "es", "country": ["Spain", "España"], "cur": "eur_es", "mi": 0.0},
    "it_IT": {"style": "western", "lang": "it", "country": ["Italy", "Italia"], "cur": "eur_de", "mi": 0.05},
    "nl_NL": {"style": "western", "lang": "nl", "country": ["Netherlands", "The Netherlands", "Nederland"], "cur": "eur_nl", "mi": 0.15},
    "pt_BR": {"style": "western", "lang": "pt", "country": ["Brazil", "Brasil"], "cur": "brl", "mi": 0.1},
    "pl_PL": {"style": "western", "lang": "pl", "country": ["Poland", "Polska"], "cur": "pln", "mi": 0.05},
    "sv_SE": {"style": "western", "lang": "sv", "country": ["Sweden", "Sverige"], "cur": "sek", "mi": 0.1},
    "cs_CZ": {"style": "western", "lang": "cs", "country": ["Czech Republic", "Czechia", "Česká republika"], "cur": "czk", "mi": 0.05},
    "vi_VN": {"style": "vi", "lang": "vi", "country": ["Vietnam", "Việt Nam"], "cur": "vnd", "mi": 0.0},
    "ru_RU": {"style": "ru", "lang": "ru", "country": ["Russia", "Россия"], "cur": "rub", "mi": 0.0},
    "el_GR": {"style": "el", "lang": "el", "country": ["Greece", "Ελλάδα"], "cur": "eur_de", "mi": 0.0},
    "ja_JP": {"style": "ja", "lang": "ja", "country": ["Japan", "日本"], "cur": "jpy", "mi": 0.0},
    "zh_CN": {"style": "zh", "lang": "zh", "country": ["China", "中国"], "cur": "cny", "mi": 0.0},
    "ko_KR": {"style": "ko", "lang": "ko", "country": ["South Korea", "대한민국"], "cur": "krw", "mi": 0.0},
    "he_IL": {"style": "he", "lang": "he", "country": ["Israel", "ישראל"], "cur": "ils", "mi": 0.0},
}
LATIN_STYLES = {"western", "es", "vi"}

LABELS = {
    "en": {"title": "Customer registration form", "name": "Full name", "dob": "Date of birth", "addr": "Address",
               "phone": "Phone", "email": "E-mail", "bank": "Bank account", "date": "Date", "order": "Order no.",
               "note": "Notes", "note_txt": "Prefers contact by e-mail."},
    "de": {"title": "Kundenanmeldung", "name": "Name", "dob": "Geburtsdatum", "addr": "Anschrift", "phone": "Telefon",
               "email": "E-Mail", "bank": "Bankverbindung", "date": "Datum", "order": "Bestellnr.",
               "note": "Bemerkung", "note_txt": "Bitte nur per E-Mail kontaktieren."},
    "fr": {"title": "Formulaire d'inscription", "name": "Nom complet", "dob": "Date de naissance", "addr": "Adresse",
               "phone": "Téléphone", "email": "Courriel", "bank": "Coordonnées bancaires", "date": "Date",
               "order": "N° de commande", "note": "Remarque", "note_txt": "Merci de me contacter par courriel."},
    "es": {"title": "Formulario de alta", "name": "Nombre y apellidos", "dob": "Fecha de nacimiento",
               "addr": "Dirección", "phone": "Teléfono", "email": "Correo electrónico", "bank": "Cuenta bancaria",
               "date": "Fecha", "order": "N.º de pedido", "note": "Observaciones", "note_txt": "Prefiere contacto por correo."},
    "it": {"title": "Modulo di registrazione", "name": "Nome e cognome", "dob": "Data di nascita", "addr": "Indirizzo",
               "phone": "Telefono", "email": "E-mail", "bank": "Coordinate bancarie", "date": "Data", "order": "N. ordine",
               "note": "Note", "note_txt": "Preferisce essere contattato via e-mail."},
    "nl": {"title": "Aanmeldformulier", "name": "Naam", "dob": "Geboortedatum", "addr": "Adres", "phone": "Telefoon",
               "email": "E-mail", "bank": "Rekeningnummer", "date": "Datum", "order": "Bestelnummer",
               "note": "Opmerking", "note_txt": "Graag contact per e-mail."},
    "pt": {"title": "Ficha de cadastro", "name": "Nome completo", "dob": "Data de nascimento", "addr": "Endereço",
               "phone": "Telefone", "email": "E-mail", "bank": "Dados bancários", "date": "Data", "order": "Nº do pedido",
               "note": "Observação", "note_txt": "Prefere contato por e-mail."},
    "pl": {"title": "Formularz rejestracyjny", "name": "Imię i nazwisko", "dob": "Data urodzenia", "addr": "Adres",
               "phone": "Telefon", "email": "E-mail", "bank": "Numer rachunku", "date": "Data", "order": "Nr zamówienia",
               "note": "Uwagi", "note_txt": "Preferuje kontakt mailowy."},
    "sv": {"title": "Registreringsformulär", "name": "Namn", "dob": "Födelsedatum", "addr": "Adress", "phone": "Telefon",
               "email": "E-post", "bank": "Bankkonto", "date": "Datum", "order": "Ordernummer",
               "note": "Övrigt", "note_txt": "Kontakta helst via e-post."},
    "cs": {"title": "Registrační formulář", "name": "Jméno a příjmení", "dob": "Datum narození", "addr": "Adresa",
               "phone": "Telefon", "email": "E-mail", "bank": "Číslo účtu", "date": "Datum", "order": "Číslo objednávky",
               "note": "Poznámka", "note_txt": "Preferuje kontakt e-mailem."},
    "vi": {"title": "Phiếu đăng ký khách hàng", "name": "Họ và tên", "dob": "Ngày sinh", "addr": "Địa chỉ",
               "phone": "Điện thoại", "email": "Email", "bank": "Số tài khoản", "date": "Ngày", "order": "Mã đơn hàng",
               "note": "Ghi chú", "note_txt": "Liên hệ qua email."},
    "ru": {"title": "Анкета клиента", "name": "ФИО", "dob": "Дата рождения", "addr": "Адрес", "phone": "Телефон",
               "email": "Эл. почта", "bank": "Банковские реквизиты", "date": "Дата", "order": "Номер заказа",
               "note": "Примечание", "note_txt": "Связываться по электронной почте."},
    "el": {"title": "Αίτηση εγγραφής πελάτη", "name": "Ονοματεπώνυμο", "dob": "Ημερομηνία γέννησης",
               "addr": "Διεύθυνση", "phone": "Τηλέφωνο", "email": "Email", "bank": "Τραπεζικός λογαριασμός",
               "date": "Ημερομηνία", "order": "Αρ. παραγγελίας", "note": "Σημείωση", "note_txt": "Επικοινωνία μέσω email."},
    "ja": {"title": "会員登録フォーム", "name": "氏名", "dob": "生年月日", "addr": "住所", "phone": "電話番号",
               "email": "メールアドレス", "bank": "振込先口座", "date": "記入日", "order": "注文番号",
               "note": "備考", "note_txt": "連絡はメールでお願いします。"},
    "zh": {"title": "客户登记表", "name": "姓名", "dob": "出生日期", "addr": "地址", "phone": "电话", "email": "电子邮箱",
               "bank": "银行账号", "date": "填表日期", "order": "订单号", "note": "备注", "note_txt": "请通过邮件联系。"},
    "ko": {"title": "회원 가입 신청서", "name": "성명", "dob": "생년월일", "addr": "주소", "phone": "전화번호",
               "email": "이메일", "bank": "계좌번호", "date": "작성일", "order": "주문번호", "note": "비고",
               "note_txt": "이메일로 연락 바랍니다."},
    "he": {"title": "טופס הרשמה", "name": "שם מלא", "dob": "תאריך לידה", "addr": "כתובת", "phone": "טלפון",
               "email": "דוא\"ל", "bank": "חשבון בנק", "date": "תאריך", "order": "מספר הזמנה", "note": "הערות",
               "note_txt": "נא ליצור קשר בדוא\"ל."},
}

MIL_ZIP = {"AE": (9000, 9899), "AA": (34000, 34099), "AP": (96200, 96699)}
PROFILE_SITES = ["https://www.linkedin.com/in/{u}", "https://github.com/{u}", "https://x.com/{u}",
                 "https://www.instagram.com/{u}/", "https://www.facebook.com/{u}", "https://medium.com/@{u}",
                 "https://gitlab.com/{u}", "https://about.me/{u}", "https://{u}.dev", "https://www.{u}.com/about",
                 "https://mastodon.social/@{u}", "https://www.behance.net/{u}"]


class Person:
    def __init__(self, k, gender=None, mi=None, romanize=None):
        f, r = k.f, k.r
        self.k = k
        self.gender = g = gender or r.choice("MF")
        style = k.cfg["style"]
        fn = lambda: call(f, "first_name_male" if g == "M" else "first_name_female", "first_name")
        ln = lambda: call(f, "last_name_male" if g == "M" else "last_name_female", "last_name")
        self.ag = self.asur = None          # ascii parts for e-mail / URLs
        self.polite_form = "surname"
        self.latin = style in LATIN_STYLES
        if romanize is None:
            romanize = r.random() < 0.45
        if style == "ja":
            gk, _, grom = f.first_name_male_pair() if g == "M" else f.first_name_female_pair()
            sk, _, srom = f.last_name_pair()
            self.ag, self.asur = slug(grom), slug(srom)
            if romanize:
                self.given, self.surname, self.full = grom, srom, f"{grom} {srom}"
                self.latin = True
            else:
                self.given, self.surname = gk, sk
                self.full = f"{sk} {gk}" if r.random() < 0.5 else f"{sk}{gk}"
        elif style == "zh":
            if romanize:
                self.given, self.surname = f.first_romanized_name(), f.last_romanized_name()
                self.full = r.choice([f"{self.given} {self.surname}", f"{self.surname} {self.given}"])
                self.ag, self.asur = slug(self.given), slug(self.surname)
                self.latin = True
            else:
                self.surname, self.given = f.last_name(), f.first_name()
                self.full = self.surname + self.given
        elif style == "ko":
            self.surname, self.given = f.last_name(), fn()
            self.full = self.surname + self.given
            self.polite_form = "full"
        elif style == "ru":
            given, sur = fn(), ln()
            patr = call(f, "middle_name_male" if g == "M" else "middle_name_female")
            if romanize:
                given, sur, patr = translit(given), translit(sur), translit(patr)
                self.latin = True
            self.given, self.surname = given, sur
            self.full = r.choice([f"{given} {sur}", f"{sur} {given} {patr}", f"{given} {patr} {sur}"])
            self.ag, self.asur = slug(translit(given) if not romanize else given), slug(translit(sur) if not romanize else sur)
        elif style == "vi":
            sur, mid, given = ln(), f.middle_name(), fn()
            self.given, self.surname, self.full = given, sur, f"{sur} {mid} {given}"
            self.ag, self.asur = slug(given), slug(sur)
            self.polite_form = "given"
        elif style in ("el", "he"):
            self.given, self.surname = fn(), ln()
            self.full = f"{self.given} {self.surname}"
        else:  # western / es
            given, sur = fn(), ln()
            if style == "es" and r.random() < 0.5:
                sur2 = f.last_name()
                if sur2 != sur:
                    sur = f"{sur} {sur2}" if r.random() < 0.8 else f"{sur}-{sur2}"
            self.given, self.surname = given, sur
            if mi is None:
                mi = r.random() < k.cfg["mi"]
            if mi:
                ini = r.choice("ABCDEFGHJKLMNPRSTW")
                self.full = f"{given} {ini}. {sur}"
            else:
                self.full = f"{given} {sur}"
            self.ag, self.asur = slug(given), slug(sur)
        if self.ag == "":
            self.ag = None
        if self.asur == "":
            self.asur = None
        self.title = "Mr." if g == "M" else r.choice(["Ms.", "Ms.", "Mrs."])

    # markers
    def F(self):
        return P(self.full, "full")

    def G(self, lower=False):
        return P(self.given.lower() if lower else self.given, "given")

    def S(self):
        return P(self.surname, "surname")

    def FL(self):
        return P(self.full.lower(), "full")

    def dear(self):
        """Salutation target, e.g. 'Ms. [[Lindqvist]]' or '[[佐藤]]様'."""
        st = self.k.cfg["style"]
        if not self.latin and st == "ja":
            return self.S() + "様"
        if not self.latin and st == "zh":
            return self.S() + ("先生" if self.gender == "M" else "女士")
        if self.polite_form == "full":
            return self.F()
        if self.polite_form == "given":
            return f"{self.title} {self.G()}"
        return f"{self.title} {self.S()}"

    def ref(self):
        """Third-person short reference: 'Mr. [[Okafor]]' / '[[Okafor]]' / given name."""
        st = self.k.cfg["style"]
        if self.polite_form == "full" or (not self.latin and st in ("ja", "zh")):
            return self.F()
        if self.polite_form == "given":
            return self.G()
        return self.k.r.choice([f"{self.title} {self.S()}", f"{self.title} {self.S()}", self.S()])

    def email(self, new=False):
        if getattr(self, "_email", None) and not new:
            return self._email
        self._email = self._make_email()
        return self._email

    def _make_email(self):
        k = self.k
        if self.ag and self.asur:
            g, s, r = self.ag, self.asur, k.r
            local = r.choice([f"{g}.{s}", f"{g[0]}{s}", f"{g}{s[0]}", f"{g}_{s}", f"{s}.{g}",
                              f"{g}{r.randint(1, 99)}", f"{g}.{s}{r.randint(60, 99)}", f"{g[0]}.{s}"])
            dom = k.f.free_email_domain() if r.random() < 0.6 else k.f.domain_name()
            return mark("EMAIL", "EMAIL", f"{local}@{dom}")
        return mark("EMAIL", "EMAIL", k.f.email())

    def url(self):
        k = self.k
        if self.ag and self.asur:
            u = k.r.choice([f"{self.ag}-{self.asur}", f"{self.ag}{self.asur}", f"{self.ag}.{self.asur}",
                            f"{self.ag}-{self.asur}-{k.f.hexify('^^^^^^')}", f"{self.ag[0]}{self.asur}"])
        else:
            u = k.f.user_name()
        tpl = k.r.choice(PROFILE_SITES)
        if tpl.startswith(("https://{u}", "https://www.{u}")):
            u = u.replace(".", "").replace("_", "")
        return mark("URL", "URL", tpl.format(u=u))


class Kit:
    def __init__(self, locale, idx):
        self.loc = locale
        self.cfg = CFG[locale]
        self.f = Faker(locale)
        self.f.seed_instance(lseed(locale, idx, "faker"))
        self.r = random.Random(lseed(locale, idx, "py"))
        self.en = Faker("en_US")
        self.en.seed_instance(lseed(locale, idx, "en"))
        self.lab = LABELS[self.cfg["lang"]]
        self.h12 = self.r.random() < 0.5

    def person(self, **kw):
        return Person(self, **kw)

    # ----------------------------------------------------------- addresses
    def _clean(self, v):
        lines = [ln.strip() for ln in v.split("\n")]
        return "\n".join(ln for ln in lines if ln)

    def _base_address(self):
        if self.loc == "ja_JP":
            z = self.f.zipcode()
            return self.r.choice([f"〒{z}\n{self.f.address()}", f"〒{z} {self.f.address()}", self.f.address()])
        if self.loc == "zh_CN":
            return self.f.address()
        if self.loc == "en_US":
            # Faker's en_US address() already mixes in military formats; keep them rarer here
            return f"{self.f.street_address()}\n{self.f.city()}, {self.f.state_abbr()} {self.f.zipcode()}"
        return self.f.address()

    def _add_unit(self, v):
        if UNIT_RE.search(v):
            return v
        lines = v.split("\n")
        r, n = self.r, self.r.randint(1, 40)
        loc = self.loc
        if loc in ("en_US", "en_CA"):
            if r.random() < 0.3:
                lines.insert(1, r.choice(["Suite ", "Apt. ", "Unit "]) + str(r.randint(100, 4999)))
            else:
                lines[0] += " " + r.choice(["Apt. ", "Suite ", "Unit ", "#", "Apt "]) + str(r.randint(1, 4999))
        elif loc == "en_GB":
            lines.insert(0, r.choice(["Flat ", "Flat ", "Apartment ", "Room "]) + str(n) + r.choice(["", "", "A", "B"]))
        elif loc == "en_AU":
            if r.random() < 0.5:
                lines[0] = f"Unit {n}, " + lines[0]
            else:
                lines.insert(0, r.choice(["Level ", "Suite ", "Apartment "]) + str(n))
        elif loc == "en_IN":
            lines.insert(0, f"Flat No. {r.randint(1, 14)}0{r.randint(1, 9)}, " + self.f.last_name() + " Apartments")
        elif loc == "de_DE":
            lines[0] += r.choice([f", Whg. {n}", f", App. {n}", f", Wohnung {n}"])
        elif loc == "fr_FR":
            lines.insert(0, r.choice([f"Appartement {n}", f"Bât. {r.choice('ABCD')}, Appartement {n}", f"Apt {n}"]))
        elif loc == "es_ES":
            if not any(x in lines[0] for x in ("Piso", "Puerta", "Apt.")):
                lines[0] += f", Piso {r.randint(1, 9)}, Puerta {r.choice('ABCD')}"
        elif loc == "it_IT":
            if not any(x in lines[0] for x in ("Appartamento", "Piano")):
                lines[0] += r.choice([f" Interno {n}", f" Scala {r.choice('ABC')} Interno {n}", f" Piano {r.randint(1, 9)}"])
        elif loc == "pt_BR":
            lines[0] += r.choice([f", Apto {r.randint(1, 20)}0{r.randint(1, 8)}", f", Sala {n}", f", Apto. {n}"])
        elif loc == "pl_PL":
            if "/" not in lines[0]:
                lines[0] += f" m. {n}"
        elif loc == "sv_SE":
            lines[0] += f", lgh {r.randint(10, 16)}0{r.randint(1, 9)}"
        elif loc == "cs_CZ":
            lines[0] += f", byt {n}"
        elif loc == "nl_NL":
            lines[0] = lines[0] + r.choice(["-II", "-III", " A", "-1"])  # no designator word: stays non-unit
        elif loc == "ru_RU" and "кв." not in v and "д. " in v:
            return re.sub(r"(д\. [\w/]+)", lambda m: f"{m.group(1)}, кв. {n}", v, count=1)
        return "\n".join(lines)

    def addr(self, unit=False, country=False, oneline=False, military=False):
        """Returns an ADDRESS marker."""
        if military or (self.loc == "en_US" and not unit and not country and self.r.random() < 0.06):
            v = self.military_address(oneline)
            return A(v)
        v = self._clean(self._base_address())
        if unit:
            v = self._add_unit(v)
        cend = False
        if country:
            c = self.r.choice(self.cfg["country"])
            v = v + (self.r.choice(["\n", ", "]) + c)
            cend = True
        if oneline:
            v = re.sub(r",?\s*\n\s*", ", ", v)
        return A(v, country_end=cend)

    def military_address(self, oneline=False):
        f, r = self.en, self.r
        st = r.choice(["AE", "AA", "AP"])
        lo, hi = MIL_ZIP[st]
        z = f"{r.randint(lo, hi):05d}"
        if r.random() < 0.3:
            z += f"-{r.randint(1000, 9999)}"
        kind = r.choice(["psc", "unit", "ship", "cmr"])
        if kind == "psc":
            l1, l2 = f"PSC {r.randint(1000, 9999)}, Box {r.randint(1000, 9999)}", f"APO {st} {z}"
        elif kind == "cmr":
            l1, l2 = f"CMR {r.randint(400, 499)}, Box {r.randint(100, 9999)}", f"APO {st} {z}"
        elif kind == "unit":
            l1, l2 = f"Unit {r.randint(1000, 9999)} Box {r.randint(1000, 9999)}", f"DPO {st} {z}"
        else:
            l1, l2 = f"{r.choice(['USS', 'USNS', 'USCGC'])} {f.last_name()}", f"FPO {st} {z}"
        return f"{l1}, {l2}" if oneline else f"{l1}\n{l2}"

    # ----------------------------------------------------------- contact
    def phone(self, ext=None):
        v = self.f.phone_number()
        if self.loc in ("en_US", "en_CA") and "x" not in v and (ext or (ext is None and self.r.random() < 0.12)):
            v += self.r.choice([" ext. ", " x", " ext "]) + str(self.r.randint(10, 4999))
        return mark("PHONE", "PHONE", v)

    def email_generic(self):
        return mark("EMAIL", "EMAIL", self.f.email())

    def role_email(self, dom=None):
        dom = dom or self.f.domain_name()
        return mark("EMAIL", "EMAIL", f"{self.r.choice(['support', 'billing', 'hr', 'info', 'accounts', 'noreply', 'privacy', 'orders'])}@{dom}")

    def ip4(self):
        v = self.f.ipv4_public() if self.r.random() < 0.7 else self.f.ipv4_private()
        return mark("IP_ADDRESS", "IPV4", v)

    def ip6(self):
        r = self.r
        if r.random() < 0.5:
            v = self.f.ipv6()
        else:
            pre = r.choice(["2001:db8", "2a02:8108", "2600:1700", "2a01:4f8", "fe80:", "2001:67c"])
            tail = ":".join(f"{r.randint(0, 0xffff):x}" for _ in range(r.randint(1, 4)))
            v = f"{pre}::{tail}" if not pre.endswith(":") else f"{pre}:{tail}"
        return mark("IP_ADDRESS", "IPV6", v)

    def ip(self):
        return self.ip4() if self.r.random() < 0.7 else self.ip6()

    # ----------------------------------------------------------- payment
    def card(self):
        r = self.r
        t = r.choice(["visa16", "visa16", "mastercard", "mastercard", "amex", "discover", "jcb16", "diners", "maestro", "visa19"])
        n = self.en.credit_card_number(t)
        sep = r.choice([" ", " ", "-", ""])
        if t == "amex" or t == "diners":
            parts = [n[:4], n[4:10], n[10:]]
        else:
            parts = [n[i:i + 4] for i in range(0, len(n), 4)]
        return mark("CREDIT_CARD", "CREDIT_CARD", sep.join(parts) if sep else n)

    def expiry(self):
        return f"{self.r.randint(1, 12):02d}/{self.r.randint(25, 31)}"

    def iban_raw(self):
        loc, r = self.loc, self.r
        if loc in ("en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pl_PL", "el_GR", "cs_CZ"):
            return self.f.iban()
        if loc == "sv_SE":
            return iban_from_bban("SE", f"{r.choice(['500', '600', '800', '300', '920'])}" + "".join(r.choice(string.digits) for _ in range(17)))
        if loc == "he_IL":
            return iban_from_bban("IL", "".join(r.choice(string.digits) for _ in range(19)))
        # other locales: an IBAN of a European account
        cc = r.choice(["DE", "FR", "NL", "ES", "BE", "IE"])
        ln = {"DE": 18, "FR": 23, "NL": 14, "ES": 20, "BE": 12, "IE": 18}[cc]
        if cc == "NL":
            b = r.choice(["ABNA", "INGB", "RABO"]) + "".join(r.choice(string.digits) for _ in range(10))
        elif cc == "IE":
            b = r.choice(["AIBK", "BOFI"]) + "".join(r.choice(string.digits) for _ in range(14))
        else:
            b = "".join(r.choice(string.digits) for _ in range(ln))
        return iban_from_bban(cc, b)

    def iban(self, grouped=None):
        v = self.iban_raw()
        if grouped is None:
            grouped = self.r.random() < 0.55
        if grouped:
            return mark("BANK_ACCOUNT", "IBAN_GROUPED", group4(v))
        return mark("BANK_ACCOUNT", "IBAN", v)

    def domestic_bank(self):
        """List of (label, marker) pairs for a domestic account (account no. + routing/sort code)."""
        loc, r, f = self.loc, self.r, self.f
        d = lambda n: "".join(r.choice(string.digits) for _ in range(n))
        acct = lambda v: mark("BANK_ACCOUNT", "ACCOUNT_NUMBER", v)
        if loc == "en_US":
            return [("Routing number", mark("BANK_ACCOUNT", "ROUTING_NUMBER", f.aba())),
                    ("Account number", acct(d(r.randint(8, 12)) if r.random() < 0.7 else f"{d(4)} {d(4)} {d(4)}"))]
        if loc == "en_GB":
            ib = f.iban()
            sc = f"{ib[8:10]}-{ib[10:12]}-{ib[12:14]}"
            return [("Sort code", mark("BANK_ACCOUNT", "SORT_CODE", sc)), ("Account no.", acct(ib[14:22]))]
        if loc == "en_AU":
            return [("BSB", mark("BANK_ACCOUNT", "SORT_CODE", f"{d(3)}-{d(3)}")),
                    ("Account number", acct(r.choice([d(9), f"{d(4)} {d(5)}", f"{d(2)}-{d(3)}-{d(4)}"])))]
        if loc == "en_CA":
            return [("Transit / institution", mark("BANK_ACCOUNT", "ROUTING_NUMBER", f"{d(5)}-{r.choice(['001', '002', '003', '004', '006', '010', '815'])}")),
                    ("Account", acct(d(7)))]
        if loc == "en_IN":
            ifsc = r.choice(["SBIN", "HDFC", "ICIC", "UTIB", "PUNB", "KKBK"]) + "0" + d(6)
            return [("IFSC", mark("BANK_ACCOUNT", "ROUTING_NUMBER", ifsc)),
                    ("A/c no.", acct(r.choice([d(11), d(14), f"{d(4)} {d(4)} {d(4)} {d(2)}"])))]
        if loc == "de_DE":
            ib = f.iban()
            return [("BLZ", mark("BANK_ACCOUNT", "ROUTING_NUMBER", ib[4:12] if r.random() < 0.5 else f"{ib[4:7]} {ib[7:10]} {ib[10:12]}")),
                    ("Kontonummer", acct(ib[12:].lstrip("0") or ib[12:]))]
        if loc == "ru_RU":
            return [("БИК", mark("BANK_ACCOUNT", "ROUTING_NUMBER", "04" + d(7))),
                    ("р/с", acct("40817810" + d(12)))]
        if loc == "ja_JP":
            return [("支店番号", mark("BANK_ACCOUNT", "ROUTING_NUMBER", d(3))), ("普通口座", acct(d(7)))]
        if loc == "zh_CN":
            return [("银行账号", acct(r.choice([f"{d(4)} {d(4)} {d(4)} {d(4)} {d(3)}", d(19), d(16)])))]
        if loc == "ko_KR":
            return [("계좌번호", acct(r.choice([f"{d(3)}-{d(3)}-{d(6)}", f"{d(3)}-{d(2)}-{d(6)}-{d(1)}", f"{d(4)}-{d(3)}-{d(6)}"])))]
        if loc == "vi_VN":
            return [("Số tài khoản", acct(r.choice([d(10), d(13), f"{d(4)} {d(4)} {d(4)}"])))]
        if loc == "cs_CZ":
            return [("Číslo účtu", acct(f"{r.choice(['', '19-', '000000-'])}{d(10)}/{r.choice(['0100', '0300', '0800', '2010', '5500'])}"))]
        if loc == "pl_PL":
            ib = f.iban()
            return [("Nr rachunku", acct(" ".join([ib[4:6]] + [ib[i:i + 4] for i in range(6, 28, 4)])))]
        return [("IBAN", self.iban())]

    # ----------------------------------------------------------- government ids
    def gov_ids(self, p=None):
        """List of (english_label, local_label, marker) candidate ids for this locale."""
        loc, r, f = self.loc, self.r, self.f
        d = lambda n: "".join(r.choice(string.digits) for _ in range(n))
        L = lambda n: "".join(r.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(n))
        nid = lambda v: mark("GOVERNMENT_ID", "NATIONAL_ID", v)
        tax = lambda v: mark("GOVERNMENT_ID", "TAX_ID", v)
        pas = lambda v: mark("GOVERNMENT_ID", "PASSPORT", v)
        dl = lambda v: mark("GOVERNMENT_ID", "DRIVERS_LICENSE", v)
        out = []
        if loc == "en_US":
            s = f.ssn()
            style = r.random()
            sv = s if style < 0.6 else (s.replace("-", "") if style < 0.85 else s.replace("-", " "))
            s2 = f.ssn()
            out += [("SSN", "Social Security No.", mark("GOVERNMENT_ID", "SSN", sv)),
                    (r.choice(["SSN", "Social Security number", "SS#"]), "SSN", mark("GOVERNMENT_ID", "SSN", s2 if r.random() < 0.5 else s2.replace("-", ""))),
                    ("Passport no.", "Passport no.", pas(f.passport_number())),
                    ("Driver's license", "DL#", dl(self.us_dl())),
                    (r.choice(["ITIN", "EIN"]), "TIN", tax(f.itin() if r.random() < 0.5 else f.ein()))]
        elif loc == "en_GB":
            out += [("National Insurance no.", "NI number", nid(f.ssn())),
                    ("Passport no.", "Passport", pas(d(9))),
                    ("Driving licence no.", "Driving licence", dl(self.uk_dl(p))),
                    ("UTR", "Unique Taxpayer Reference", tax(d(5) + " " + d(5) if r.random() < 0.5 else d(10)))]
        elif loc == "en_IN":
            a = f.aadhaar_id()
            out += [("Aadhaar", "Aadhaar no.", nid(a if r.random() < 0.4 else f"{a[:4]} {a[4:8]} {a[8:]}")),
                    ("PAN", "PAN", nid(f.pan())),
                    ("Passport no.", "Passport", pas(r.choice("JKLMNPRSTUVZ") + d(7))),
                    ("Driving licence", "DL No.", dl(f"{r.choice(['MH', 'KA', 'DL', 'TN', 'UP', 'GJ'])}{d(2)} {r.randint(2005, 2022)}{d(7)}")),
                    ("GSTIN", "GSTIN", tax(f.gstin()))]
        elif loc == "en_AU":
            out += [("TFN", "Tax File Number", tax(self.au_tfn())),
                    ("Passport no.", "Passport", pas(r.choice(["PA", "PB", "N", "E", "RA"]) + d(7))),
                    ("Driver licence", "Licence no.", dl(d(r.choice([8, 9, 10]))))]
        elif loc == "en_CA":
            out += [("SIN", "Social Insurance Number", nid(f.ssn())),
                    ("Passport no.", "Passport", pas(L(2) + d(6))),
                    ("Driver's licence", "DL", dl(f"{L(1)}{d(4)}-{d(5)}-{d(5)}"))]
        elif loc == "de_DE":
            out += [("Pension insurance no.", "Rentenversicherungsnr.", nid(f.rvnr())),
                    ("Health insurance no.", "Krankenversichertennr.", nid(f.kvnr())),
                    ("Tax ID", "Steuer-ID", tax(self.de_steuerid())),
                    ("Passport no.", "Reisepassnr.", pas("C" + "".join(r.choice("CFGHJKLMNPRTVWXYZ0123456789") for _ in range(8)))),
                    ("Driving licence no.", "Führerscheinnr.", dl(L(1) + d(3) + L(1) + "".join(r.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(6))))]
        elif loc == "fr_FR":
            s = f.ssn()
            sv = s if r.random() < 0.5 else f"{s[0]} {s[1:3]} {s[3:5]} {s[5:7]} {s[7:10]} {s[10:13]} {s[13:]}"
            out += [("Social security no. (NIR)", "N° de sécurité sociale", nid(sv)),
                    ("Tax no.", "Numéro fiscal", tax(r.choice("0123") + d(12))),
                    ("Passport no.", "N° de passeport", pas(d(2) + L(2) + d(5))),
                    ("Driving licence no.", "N° de permis", dl(d(12)))]
        elif loc == "es_ES":
            out += [("DNI", "DNI", nid(f.nif())), ("NIE", "NIE", nid(f.nie())),
                    ("Social security no.", "N.º Seguridad Social", nid(f.nuss())),
                    ("Passport no.", "Pasaporte", pas(L(3) + d(6)))]
        elif loc == "it_IT":
            out += [("Tax code (codice fiscale)", "Codice fiscale", nid(f.ssn())),
                    ("ID card (CIE)", "Carta d'identità", nid(f.cie())),
                    ("Passport no.", "Passaporto", pas(f.passport_number())),
                    ("Driving licence", "Patente", dl(L(2) + d(7) + L(1)))]
        elif loc == "nl_NL":
            out += [("BSN", "BSN", nid(f.ssn())),
                    ("Passport no.", "Paspoortnummer", pas("".join(r.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(2)) + "".join(r.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(6)) + d(1))),
                    ("Driving licence no.", "Rijbewijsnummer", dl(d(10)))]
        elif loc == "pt_BR":
            out += [("CPF", "CPF", nid(f.cpf() if r.random() < 0.6 else f.ssn())), ("RG", "RG", nid(f.rg())),
                    ("Passport no.", "Passaporte", pas(L(2) + d(6))), ("CNH", "CNH", dl(d(11)))]
        elif loc == "pl_PL":
            out += [("PESEL", "PESEL", nid(f.pesel())), ("ID card no.", "Nr dowodu osobistego", nid(f.identity_card_number())),
                    ("NIP", "NIP", tax(f.nip())), ("Passport no.", "Nr paszportu", pas(L(2) + d(7))),
                    ("Driving licence no.", "Nr prawa jazdy", dl(f"{d(5)}/{d(2)}/{d(4)}"))]
        elif loc == "sv_SE":
            out += [("Personal identity no.", "Personnummer", nid(f.ssn(long=r.random() < 0.3))),
                    ("Passport no.", "Passnummer", pas(d(8)))]
        elif loc == "cs_CZ":
            out += [("Birth number", "Rodné číslo", nid(f.birth_number())),
                    ("ID card no.", "Číslo OP", nid(d(9))), ("Passport no.", "Číslo pasu", pas(d(8)))]
        elif loc == "vi_VN":
            out += [("Citizen ID (CCCD)", "Số CCCD", nid(f"0{r.randint(1, 96):02d}{r.choice('0123')}{d(2)}{d(6)}")),
                    ("Passport no.", "Số hộ chiếu", pas(r.choice("BCN") + d(7))),
                    ("Tax code", "Mã số thuế", tax(d(10)))]
        elif loc == "ru_RU":
            sn = f.snils()
            out += [("Passport (series/no.)", "Паспорт", pas(f.passport_number())),
                    ("SNILS", "СНИЛС", nid(sn if r.random() < 0.4 else f"{sn[:3]}-{sn[3:6]}-{sn[6:9]} {sn[9:]}")),
                    ("INN", "ИНН", tax(f.individuals_inn()))]
        elif loc == "el_GR":
            out += [("AMKA", "ΑΜΚΑ", nid(f.ssn())), ("ID card no.", "ΑΔΤ", nid(f.police_id())),
                    ("Tax no. (AFM)", "ΑΦΜ", tax(f.tin())), ("Passport no.", "Αρ. διαβατηρίου", pas(L(2) + d(7)))]
        elif loc == "ja_JP":
            out += [("My Number", "マイナンバー", nid(self.jp_mynumber())),
                    ("Passport no.", "旅券番号", pas(r.choice(["TK", "TR", "TZ", "MZ", "TH"]) + d(7))),
                    ("Driver's license no.", "運転免許証番号", dl(d(12)))]
        elif loc == "zh_CN":
            out += [("Resident ID no.", "身份证号", nid(f.ssn())), ("Passport no.", "护照号码", pas("E" + d(8)))]
        elif loc == "ko_KR":
            out += [("Resident registration no.", "주민등록번호", nid(f.ssn())), ("Passport no.", "여권번호", pas("M" + d(8)))]
        elif loc == "he_IL":
            out += [("ID no. (Teudat Zehut)", "מספר זהות", nid(f.ssn())), ("Passport no.", "מספר דרכון", pas(d(8)))]
        return out

    def id_set(self, p, n):
        """n distinct ids for a person; for en_US an SSN is always among them."""
        ids = self.gov_ids(p)
        if self.loc == "en_US":
            ssn = [x for x in ids if "GOVERNMENT_ID:SSN" in x[2]]
            rest = [x for x in ids if "GOVERNMENT_ID:SSN" not in x[2]]
            return [self.r.choice(ssn)] + self.r.sample(rest, min(len(rest), n - 1))
        return self.r.sample(ids, min(len(ids), n))

    def pick_id(self, p=None, kinds=None):
        ids = self.gov_ids(p)
        if kinds:
            sel = [x for x in ids if any(f"GOVERNMENT_ID:{kd}" in x[2] for kd in kinds)]
            ids = sel or ids
        return self.r.choice(ids)

    def us_dl(self):
        r = self.r
        d = lambda n: "".join(r.choice(string.digits) for _ in range(n))
        L = r.choice(string.ascii_uppercase)
        return r.choice([f"{L}{d(7)}", f"{d(3)} {d(3)} {d(3)}", d(8), f"{L}{d(3)}-{d(3)}-{d(2)}-{d(3)}-{d(1)}",
                         f"{L}{d(3)}-{d(4)}-{d(4)}", f"{L}{d(12)}", f"WDL{''.join(r.choice(string.ascii_uppercase + string.digits) for _ in range(9))}"])

    def uk_dl(self, p=None):
        r = self.r
        sur = slug(p.surname).upper() if p and p.asur else slug(self.f.last_name()).upper()
        sur = (sur + "99999")[:5]
        y = r.randint(1950, 2004)
        m = r.randint(1, 12) + (50 if (p and p.gender == "F") else 0)
        ini = (slug(p.given).upper()[:1] if p and p.ag else r.choice(string.ascii_uppercase)) + r.choice(["9", r.choice(string.ascii_uppercase)])
        return f"{sur}{str(y)[2]}{m:02d}{r.randint(1, 28):02d}{str(y)[3]}{ini}{r.randint(0, 9)}{r.choice(string.ascii_uppercase)}{r.choice(string.ascii_uppercase)}"

    def au_tfn(self):
        w = [1, 4, 3, 7, 5, 8, 6, 9, 10]
        while True:
            ds = [self.r.randint(0, 9) for _ in range(8)]
            for last in range(10):
                if sum(a * b for a, b in zip(ds + [last], w)) % 11 == 0:
                    s = "".join(map(str, ds + [last]))
                    return f"{s[:3]} {s[3:6]} {s[6:]}" if self.r.random() < 0.6 else s

    def de_steuerid(self):
        r = self.r
        while True:
            s = [r.randint(1, 9)] + [r.randint(0, 9) for _ in range(9)]
            if max(Counter(s).values()) in (2, 3) and len(set(s)) >= 7:
                break
        prod = 10
        for x in s:
            t = (x + prod) % 10 or 10
            prod = (2 * t) % 11
        chk = (11 - prod) % 10
        v = "".join(map(str, s)) + str(chk)
        return v if r.random() < 0.5 else f"{v[:2]} {v[2:5]} {v[5:8]} {v[8:]}"

    def jp_mynumber(self):
        ds = [self.r.randint(0, 9) for _ in range(11)]
        tot = 0
        for n in range(1, 12):
            q = n + 1 if n <= 6 else n - 5
            tot += ds[11 - n] * q
        rem = tot % 11
        chk = 0 if rem <= 1 else 11 - rem
        s = "".join(map(str, ds)) + str(chk)
        return s if self.r.random() < 0.5 else f"{s[:4]} {s[4:8]} {s[8:]}"

    # ----------------------------------------------------------- distractors (never labelled)
    def date(self, dob=False):
        r = self.r
        if dob:
            d0 = dt.date(1948, 1, 1) + dt.timedelta(days=r.randint(0, 20000))
        else:
            d0 = dt.date(2023, 1, 1) + dt.timedelta(days=r.randint(0, 760))
        loc = self.loc
        if loc == "en_US":
            fmts = ["%m/%d/%Y", "%B %d, %Y", "%b %d, %Y", "%Y-%m-%d"]
        elif loc in ("en_GB", "en_AU", "en_IN", "en_CA"):
            fmts = ["%d/%m/%Y", "%d %B %Y", "%d %b %Y", "%Y-%m-%d"]
        elif loc in ("de_DE", "ru_RU", "pl_PL", "cs_CZ"):
            fmts = ["%d.%m.%Y", "%Y-%m-%d"]
        elif loc in ("ja_JP", "zh_CN"):
            fmts = ["%Y/%m/%d", "%Y-%m-%d", "%Y年%m月%d日"]
        elif loc == "ko_KR":
            fmts = ["%Y.%m.%d", "%Y-%m-%d"]
        elif loc == "sv_SE":
            fmts = ["%Y-%m-%d"]
        else:
            fmts = ["%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d"]
        s = d0.strftime(r.choice(fmts))
        return s

    def time(self):
        r = self.r
        if self.loc == "en_US" and self.h12:
            return f"{r.randint(1, 12)}:{r.choice(['00', '15', '30', '45', f'{r.randint(0, 59):02d}'])} {r.choice(['AM', 'PM', 'am', 'pm'])}"
        return f"{r.randint(7, 21):02d}:{r.randint(0, 59):02d}"

    def price(self, lo=5, hi=2500):
        r = self.r
        v = r.randint(lo * 100, hi * 100) / 100
        c = self.cfg["cur"]
        us = f"{v:,.2f}"
        eu = us.replace(",", "X").replace(".", ",").replace("X", ".")
        sp = us.replace(",", " ").replace(".", ",")
        return {
            "usd": f"${us}", "gbp": f"£{us}", "inr": f"₹{us}", "aud": f"A${us}", "cad": f"CA${us}",
            "eur_de": f"{eu} €", "eur_fr": f"{sp} €", "eur_es": f"{eu} €", "eur_nl": f"€ {eu}",
            "brl": f"R$ {eu}", "pln": f"{sp} zł", "sek": f"{sp} kr", "czk": f"{sp} Kč",
            "vnd": f"{int(v * 1000):,}".replace(",", ".") + " ₫", "rub": f"{sp} ₽", "jpy": f"¥{int(v * 100):,}",
            "cny": f"¥{us}", "krw": f"₩{int(v * 1000):,}", "ils": f"₪{us}",
        }[c]

    def money(self, v):
        """Format an amount in the locale's currency (same style as price())."""
        c = self.cfg["cur"]
        us = f"{v:,.2f}"
        eu = us.replace(",", "X").replace(".", ",").replace("X", ".")
        sp = us.replace(",", " ").replace(".", ",")
        return {
            "usd": f"${us}", "gbp": f"£{us}", "inr": f"₹{us}", "aud": f"A${us}", "cad": f"CA${us}",
            "eur_de": f"{eu} €", "eur_fr": f"{sp} €", "eur_es": f"{eu} €", "eur_nl": f"€ {eu}",
            "brl": f"R$ {eu}", "pln": f"{sp} zł", "sek": f"{sp} kr", "czk": f"{sp} Kč",
            "vnd": f"{int(v * 1000):,}".replace(",", ".") + " ₫", "rub": f"{sp} ₽", "jpy": f"¥{int(v * 100):,}",
            "cny": f"¥{us}", "krw": f"₩{int(v * 1000):,}", "ils": f"₪{us}",
        }[c]

    def company_tax(self):
        """(label, marker) for a company's tax/VAT number, or None."""
        loc, r, f = self.loc, self.r, self.f
        d = lambda n: "".join(r.choice(string.digits) for _ in range(n))
        tax = lambda v: mark("GOVERNMENT_ID", "TAX_ID", v)
        if loc == "en_US":
            return ("EIN", tax(f.ein()))
        if loc == "en_AU":
            w = [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19]
            while True:
                ds = [r.randint(1, 9)] + [r.randint(0, 9) for _ in range(10)]
                ds2 = [ds[0] - 1] + ds[1:]
                if sum(a * b for a, b in zip(ds2, w)) % 89 == 0:
                    s = "".join(map(str, ds))
                    return ("ABN", tax(f"{s[:2]} {s[2:5]} {s[5:8]} {s[8:]}"))
        if loc == "en_CA":
            return ("GST/HST no.", tax(f"{d(9)} RT0001"))
        if loc == "en_IN":
            return ("GSTIN", tax(f.gstin()))
        if loc == "pt_BR":
            return ("CNPJ", tax(f.cnpj()))
        if loc == "ru_RU":
            return ("ИНН", tax(f.businesses_inn()))
        if loc == "sv_SE":
            return ("Momsreg.nr", tax(f.vat_id()))
        if loc == "vi_VN":
            return ("MST", tax(d(10)))
        if hasattr(f, "vat_id"):
            try:
                return ("VAT", tax(f.vat_id().upper()))
            except AttributeError:
                return None
        return None

    def bank_details(self):
        """(label, marker) pairs: IBAN where IBANs are the norm, else the domestic format."""
        if self.loc in ("en_US", "en_CA", "en_AU", "en_IN", "ja_JP", "zh_CN", "ko_KR", "vi_VN", "ru_RU"):
            return self.domestic_bank()
        if self.loc in ("en_GB", "cs_CZ", "pl_PL", "de_DE") and self.r.random() < 0.4:
            return self.domestic_bank()
        return [("IBAN", self.iban())]

    def order_no(self):
        r = self.r
        return r.choice([f"ORD-{r.randint(2022, 2025)}-{r.randint(0, 999999):06d}", f"#{r.randint(100000, 9999999)}",
                         f"{r.randint(100, 999)}-{r.randint(1000000, 9999999)}-{r.randint(1000000, 9999999)}",
                         f"SO{r.randint(10000000, 99999999)}", f"{r.randint(100000000, 999999999)}"])

    def invoice_no(self):
        r = self.r
        return r.choice([f"INV-{r.randint(0, 99999):05d}", f"{r.randint(2023, 2025)}/{r.randint(1, 9999):04d}",
                         f"RE-{r.randint(2023, 2025)}-{r.randint(100, 9999)}", f"F{r.randint(10000000, 99999999)}"])

    def ticket_no(self):
        r = self.r
        return r.choice([f"#{r.randint(10000, 999999)}", f"CS-{r.randint(100000, 999999)}", f"INC{r.randint(1000000, 9999999)}",
                         f"SR-{r.randint(2023, 2025)}-{r.randint(1000, 99999)}"])

    def tracking(self):
        r = self.r
        d = lambda n: "".join(r.choice(string.digits) for _ in range(n))
        al = lambda n: "".join(r.choice(string.ascii_uppercase + string.digits) for _ in range(n))
        return r.choice([f"1Z{al(6)}{d(10)}", f"9400 {d(4)} {d(4)} {d(4)} {d(4)} {d(2)}", d(12),
                         f"{r.choice(string.ascii_uppercase)}{r.choice(string.ascii_uppercase)}{d(9)}{r.choice(['GB', 'DE', 'NL', 'SE', 'FR'])}",
                         f"JD{d(18)}", d(10)])

    def version(self):
        r = self.r
        return r.choice([f"{r.randint(1, 14)}.{r.randint(0, 30)}.{r.randint(0, 40)}", f"v{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)}",
                         f"{r.randint(1, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(1000, 9999)}", f"{r.randint(2019, 2025)}.{r.randint(1, 12)}"])

    def sku(self):
        r = self.r
        return r.choice([f"SKU-{r.randint(10000, 99999)}-{r.choice(['BLK', 'WHT', 'RED', 'XL', 'M'])}",
                         f"{r.choice(string.ascii_uppercase)}{r.choice(string.ascii_uppercase)}-{r.randint(100, 9999)}",
                         f"{r.randint(100000, 999999)}-{r.randint(10, 99)}"])

    def product(self):
        return self.r.choice(["wireless headset", "standing desk", "espresso machine", "laptop sleeve", "router",
                              "ergonomic chair", "USB-C dock", "yoga mat", "air purifier", "winter jacket",
                              "hiking boots", "smart thermostat", "coffee grinder", "monitor arm", "e-reader"])

    def app(self):
        return self.r.choice(["Billing Portal", "mobile app", "Analytics Hub", "the desktop client", "CloudSync",
                              "Payroll Pro", "the customer portal", "Helpdesk", "TaskBoard"])

    def company(self):
        return self.f.company() if self.r.random() < 0.6 else self.en.company()

    def city(self):
        return self.f.city()

    def uuid(self):
        return str(self.f.uuid4())

    def hexid(self, n=7):
        return self.f.hexify("^" * n)

    def generic_url(self):
        r = self.r
        dom = self.en.domain_name()
        return r.choice([f"https://{dom}/help/{r.choice(['billing', 'returns', 'privacy', 'account'])}",
                         f"https://status.{dom}/", f"https://docs.{dom}/v{r.randint(1, 4)}/api",
                         f"https://www.{dom}/terms", f"https://{dom}/blog/{r.randint(2022, 2025)}/{r.randint(1, 12):02d}/release-notes"])

    def job(self):
        return self.en.job()


# ====================================================================== templates
# Each template takes a Kit and returns one marked-up text, or a list of texts that
# belong to one instance (kept together in one split).

def he_she(p, cap=False):
    w = "he" if p.gender == "M" else "she"
    return w.capitalize() if cap else w


def his_her(p):
    return "his" if p.gender == "M" else "her"


def t_sentence_contact(k):
    p, r = k.person(), k.r
    return r.choice([
        f"Please contact {p.F()} at {p.email()} or {k.phone()} before {k.date()}.",
        f"{p.F()} ({p.email()}) asked for a refund on order {k.order_no()} ({k.price()}).",
        f"Call {p.G()} back on {k.phone()} about ticket {k.ticket_no()}.",
        f"New lead: {p.F()}, {k.job()} at {k.company()}, {k.phone()}.",
        f"Forwarding to {p.ref()}, reachable on {k.phone()} after {k.time()}.",
        f"Update the delivery address for {p.F()} to {k.addr(oneline=True)} (order {k.order_no()}).",
        f"Reminder: {p.F()} moves to {k.addr(oneline=True, unit=r.random() < 0.4)} on {k.date()}.",
    ])


def t_email_signature(k):
    a, b, r = k.person(), k.person(), k.r
    subj, body = r.choice([
        ("Revised quote", (f"Thanks for getting back to me. I've attached the revised quote (rev. {k.version()}) for {r.randint(2, 400)} units; "
         f"the total comes to {k.price(200, 9000)} excl. VAT, with delivery planned for {k.date()}.")),
        ("Follow-up on our call", (f"Following up on our call on {k.date()}: the {k.product()} order {k.order_no()} has cleared QA and will ship "
         f"in {r.randint(2, 9)} business days. I'll send the tracking number once it leaves the warehouse.")),
        ("Invoice query", (f"Quick reminder that invoice {k.invoice_no()} ({k.price(50, 5000)}) is due on {k.date()}. "
         f"Let me know if you need a copy or a different payment schedule.")),
        ("Site visit next week", (f"Could we move the site visit to {k.date()} at {k.time()}? {r.randint(2, 6)} people from our side will attend, "
         f"and we'll need parking for {r.randint(1, 3)} cars.")),
    ])
    sig = [b.F(), f"{k.job()} | {k.company()}"]
    if r.random() < 0.6:
        sig.append(k.addr(oneline=r.random() < 0.5, unit=r.random() < 0.3, country=r.random() < 0.3))
    sig.append(f"{r.choice(['Tel', 'Phone', 'T', 'Mobile', 'Direct'])}: {k.phone()}")
    if r.random() < 0.3:
        sig.append(f"Fax: {k.phone()}")
    sig.append(b.email())
    if r.random() < 0.25:
        sig.append(b.url())
    greeting = r.choice([f"Hi {a.G()},", f"Dear {a.dear()},", f"Hello {a.G()},", f"Dear {a.F()},"])
    closing = r.choice(["Best regards,", "Kind regards,", "Thanks,", "Cheers,", "Best,"])
    head = f"Subject: Re: {subj} [{k.ticket_no()}]"
    if r.random() < 0.5:
        head = f"From: {b.F()} <{b.email()}>\nTo: {a.email()}\nDate: {k.date()} {k.time()}\n" + head
    return f"{head}\n\n{greeting}\n\n{body}\n\n{closing}\n" + "\n".join(sig)


def t_support_ticket(k):
    p, r = k.person(), k.r
    issue = r.choice([
        (f"I was charged twice for order {k.order_no()} ({k.price()} each). The card used was {k.card()}, exp. {k.expiry()}. "
        f"Please refund the duplicate charge."),
        (f"The courier says the address is incomplete. The correct delivery address is:\n{k.addr(unit=True)}\n"
        f"Please update it before {k.date()}."),
        f"Since updating to {k.version()} I can't log in. The last successful login was from {k.ip()} at {k.time()}.",
        f"Please change the payout account on my profile to {k.iban()}. The old account has been closed.",
        f"My {k.product()} ({k.sku()}) stopped working after {r.randint(2, 11)} weeks. Happy to send photos.",
        (f"I moved and need the invoices re-issued to my new address:\n{k.addr(country=r.random() < 0.5)}\n"
        f"Invoice numbers: {k.invoice_no()}, {k.invoice_no()}."),
    ])
    return (f"Ticket {k.ticket_no()} | Priority: {r.choice(['Low', 'Normal', 'High', 'Urgent'])} | Opened: {k.date()} {k.time()}\n"
            f"Requester: {p.F()} <{p.email()}>\n"
            + (f"Phone: {k.phone()}\n" if r.random() < 0.7 else "")
            + f"Channel: {r.choice(['web form', 'e-mail', 'phone', 'chat'])}\n\nDescription:\n{issue}\n\n"
            + f"Assigned to: {r.choice(['Tier 1', 'Billing', 'Logistics', 'Tier 2'])} queue")


def _chat_times(k, n):
    h, m = k.r.randint(8, 21), k.r.randint(0, 40)
    out = []
    for _ in range(n):
        out.append(f"{h:02d}:{m:02d}")
        m += k.r.randint(0, 3)
        if m > 59:
            h, m = h + 1, m - 60
    return out


def t_chat_lowercase(k):
    r = k.r
    p = k.person(romanize=True, mi=False)
    q = k.person(romanize=True, mi=False)
    g = P(p.given.lower(), "given")
    t = _chat_times(k, 8)
    if r.random() < 0.5:
        lines = [
            f"[{t[0]}] {g}: hey, did the package for {k.order_no()} ship yet?",
            f"[{t[1]}] support: hi {P(p.given.lower(), 'given')}! it left the warehouse on {k.date()}. can you confirm the address?",
            f"[{t[2]}] {g}: sure, it's {k.addr(oneline=True, unit=r.random() < 0.5)}",
            f"[{t[3]}] {g}: my cell is {k.phone()} if the driver needs it",
            f"[{t[4]}] support: thanks, updated. anything else?",
            f"[{t[5]}] {g}: nope. oh and the invoice should be in {P(q.full.lower())}'s name, not mine",
            f"[{t[6]}] support: no problem, done. have a nice day!",
        ]
    else:
        a, b = P(p.given.lower(), "given"), P(q.given.lower(), "given")
        z = k.person(romanize=True, mi=False)
        lines = [
            f"{a} [{t[0]}]: did {P(z.full.lower())} ever send the signed contract?",
            f"{b} [{t[1]}]: yep, came in this morning. {he_she(z)} also changed {his_her(z)} email to {z.email()}",
            f"{a} [{t[2]}]: ok cool. can you add {P(z.surname.lower(), 'surname')} to the {r.choice(['friday', 'monday', 'q3'])} call?",
            f"{b} [{t[3]}]: sure. number on file is {k.phone()}",
            f"{a} [{t[4]}]: thx {P(q.given.lower(), 'given')} 🙏",
        ]
    return "\n".join(lines)


def t_web_form(k):
    p, r = k.person(), k.r
    idl = k.pick_id(p, kinds=["SSN"] if r.random() < 0.7 else None)
    lines = [f"--- {r.choice(['Online account application', 'Customer onboarding', 'KYC form', 'Membership sign-up'])} (form {k.version()}) ---",
             f"First name: {p.G()}", f"Last name: {p.S()}", f"Date of birth: {k.date(dob=True)}",
             f"{idl[0]}: {idl[2]}", f"E-mail: {p.email()}", f"Phone: {k.phone()}",
             f"Address:\n{k.addr(unit=r.random() < 0.35, country=r.random() < 0.25)}"]
    if r.random() < 0.5:
        lines.append(f"Website / profile: {p.url()}")
    lines.append(f"Submitted: {k.date()} {k.time()} from {k.ip()}")
    lines.append(f"Marketing opt-in: {r.choice(['yes', 'no'])}")
    return "\n".join(lines)


def t_letter(k):
    s, t, r = k.person(), k.person(), k.r
    sid = k.pick_id(s)
    opening = r.choice([
        (f"I am writing to give notice that I will vacate the property at {k.addr(oneline=True, unit=True)} on {k.date()}. "
        f"Please return the deposit of {k.price(500, 3000)} to my account ({', '.join(a + ' ' + b for a, b in k.bank_details())})."),
        (f"I would like to close account {k.order_no()} and ask that the remaining balance of {k.price()} be transferred to "
        f"{k.iban()}, held in my name at {k.company()}."),
        (f"Further to your letter of {k.date()}, I confirm that my correct correspondence address is the one shown above, "
        f"and that my {sid[0]} is {sid[2]}."),
        (f"I am writing to complain about the repeated late deliveries to my home (orders {k.order_no()} and {k.order_no()}). "
        f"On {k.date()} the driver left the parcel with a neighbour without notice."),
    ])
    sender_block = f"{s.F()}\n{k.addr(unit=r.random() < 0.3)}\n{k.phone()} · {s.email()}"
    recip = f"{t.F()}\n{k.company()}\n{k.addr(country=r.random() < 0.4)}"
    return (f"{sender_block}\n\n{k.date()}\n\n{recip}\n\nDear {t.dear()},\n\n{opening}\n\n"
            f"I would be grateful for a written confirmation. You can reach me on {k.phone()} on weekdays after {k.time()}.\n\n"
            f"Yours sincerely,\n\n{s.F()}")


def t_invoice(k):
    p, r = k.person(), k.r
    ct = k.company_tax()
    tax_line = f" · {ct[0]} {ct[1]}" if ct and r.random() < 0.85 else ""
    items, sub = [], 0.0
    for _ in range(r.randint(1, 4)):
        q, unit = r.randint(1, 5), r.randint(500, 60000) / 100
        sub += q * unit
        items.append(f"{q} x {k.product()} ({k.sku()})  {k.money(unit)}  {k.money(q * unit)}")
    rate = r.choice([5, 7, 10, 19, 20, 21, 23, 25])
    vat = round(sub * rate / 100, 2)
    pay = "  ".join(f"{a}: {b}" for a, b in k.bank_details())
    inv = k.invoice_no()
    d0 = dt.date(2023, 1, 1) + dt.timedelta(days=r.randint(0, 700))
    return (f"INVOICE {inv}\n{k.company()}\n{k.addr(oneline=True)}{tax_line}\n"
            f"Invoice date: {d0.isoformat()}   Due date: {(d0 + dt.timedelta(days=r.choice([14, 30]))).isoformat()}\n\n"
            f"Bill to:\n{p.F()}\n{k.addr(unit=r.random() < 0.4, country=r.random() < 0.3)}\n\n"
            + "\n".join(items)
            + f"\n\nSubtotal: {k.money(sub)}\nTax ({rate}%): {k.money(vat)}\nTotal due: {k.money(sub + vat)}\n\n"
            f"Please pay by bank transfer ({pay}), quoting {inv}.\nQuestions? {k.role_email()}")


def t_access_log(k):
    r = k.r
    lines = []
    for _ in range(r.randint(2, 5)):
        kind = r.random()
        ts = f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}Z"
        if kind < 0.35:
            lines.append(f'{k.ip()} - - [{r.randint(1, 28):02d}/{r.choice(["Jan", "Feb", "Mar", "Apr", "May", "Jun"])}/2024:'
                         f'{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d} +0000] "{r.choice(["GET", "POST"])} '
                         f'/api/v{r.randint(1, 3)}/{r.choice(["orders", "session", "cart", "search?q=shoes"])} HTTP/1.1" '
                         f'{r.choice([200, 200, 201, 302, 404, 500])} {r.randint(200, 90000)} "-" "Mozilla/5.0 (X11; Linux x86_64) Chrome/{r.randint(100, 125)}.0.{r.randint(1000, 6999)}.{r.randint(10, 200)}"')
        elif kind < 0.65:
            p = k.person()
            lines.append(f"{ts} INFO auth.login user={p.email()} ip={k.ip()} session={k.hexid(16)} latency_ms={r.randint(20, 900)}")
        elif kind < 0.8:
            lines.append(f"{ts} WARN payments.retry order={k.order_no()} attempt={r.randint(2, 5)} req_id={k.uuid()}")
        else:
            lines.append(f"{ts} ERROR smtp.send to={k.person().email()} status=550 relay={k.ip4()} msg_id={k.hexid(12)}")
    if not any("[[" in ln for ln in lines):
        lines.append(f"2024-06-0{r.randint(1, 9)}T0{r.randint(0, 9)}:12:44Z INFO auth.logout user={k.person().email()} ip={k.ip()}")
    return "\n".join(lines)


def t_csv_rows(k):
    r = k.r
    variant = r.random()
    rows = []
    if variant < 0.5:
        rows.append("id,first_name,last_name,email,phone,city,signup_date")
        for _ in range(r.randint(2, 4)):
            p = k.person(mi=False)
            rows.append(f"{r.randint(1000, 99999)},{p.G()},{p.S()},{p.email()},{k.phone()},{k.city()},{k.date()}")
    else:
        rows.append("customer;name;address;iban;amount;due")
        for _ in range(r.randint(2, 3)):
            p = k.person()
            rows.append(f'{r.randint(100, 9999)};{p.F()};"{k.addr(oneline=True)}";{k.iban(grouped=False)};{k.price()};{k.date()}')
    return "\n".join(rows)


def t_crm_note(k):
    p, q, r = k.person(), k.person(), k.r
    return (f"{k.date()} – Call with {p.F()} ({k.company()})\n"
            f"Spoke with {p.ref()} about renewing the {r.choice(['Team', 'Business', 'Enterprise', 'Starter'])} plan "
            f"({k.price(100, 20000)}/yr, {r.randint(5, 250)} seats). {he_she(p, True)} asked us to send the updated quote to "
            f"{p.email()} and to cc {q.F()} from procurement. {he_she(p, True)} mentioned they are opening an office in {k.city()} next year. "
            f"Follow up on {k.date()}.\nBest number: {k.phone()} (after {k.time()}).")


def t_hr_record(k):
    p, e, r = k.person(), k.person(), k.r
    chosen = k.id_set(p, r.randint(1, 2))
    bank = k.bank_details()
    lines = ["EMPLOYEE RECORD – CONFIDENTIAL", f"Name: {p.F()}",
             f"Position: {k.job()}   Department: {r.choice(['Finance', 'Engineering', 'Sales', 'Operations', 'HR'])}   Start date: {k.date()}",
             f"Home address:\n{k.addr(unit=r.random() < 0.4)}", f"Personal e-mail: {p.email()}", f"Mobile: {k.phone()}"]
    lines += [f"{a}: {m}" for a, _, m in chosen]
    lines.append(f"Salary: {k.price(2000, 9000)} / month (grade {r.randint(3, 12)})")
    lines += [f"{a}: {m}" for a, m in bank]
    lines.append(f"Emergency contact: {e.F()} ({r.choice(['spouse', 'partner', 'parent', 'sibling', 'friend'])}), {k.phone()}")
    return "\n".join(lines)


def t_shipping_notice(k):
    p, r = k.person(), k.r
    return (f"Your order {k.order_no()} is on its way!\nCarrier: {r.choice(['DHL', 'UPS', 'FedEx', 'DPD', 'PostNL', 'GLS', 'Royal Mail'])}   "
            f"Tracking number: {k.tracking()}\n\nShipping to:\n{p.F()}\n{k.addr(unit=r.random() < 0.4, country=r.random() < 0.3)}\n\n"
            f"Estimated delivery: {k.date()} between {k.time()} and {k.time()}\nItems: {r.randint(1, 6)} × {k.product()} ({k.sku()})\n"
            f"Questions? Reply to this e-mail or call {k.phone()}.")


def t_bank_transfer(k):
    p, r = k.person(), k.r
    acct = k.bank_details() if r.random() < 0.8 else [("IBAN", k.iban())]
    lines = [f"Payment instruction {k.invoice_no()}", f"Beneficiary: {p.F()}"] + [f"{a}: {b}" for a, b in acct]
    if r.random() < 0.6:
        lines.append(f"Beneficiary address: {k.addr(oneline=True, country=r.random() < 0.6)}")
    lines += [f"Amount: {k.price(20, 20000)}", f"Reference: {k.invoice_no()} / {k.order_no()}",
              f"Execution date: {k.date()}", f"Approved by: {k.person().F()}"]
    return "\n".join(lines)


def t_checkout_card(k):
    p, r = k.person(romanize=True), k.r
    name_on_card = p.full.upper().replace(".", "")
    return (f"Checkout summary – order {k.order_no()}\n{r.randint(1, 4)} × {k.product()}  {k.price()}\nShipping: {k.price(3, 40)}\n"
            f"Card number: {k.card()}   Expiry: {k.expiry()}\nName on card: {P(name_on_card)}\n"
            f"Billing address: {k.addr(oneline=True)}\nReceipt sent to {p.email()}")


def t_medical_intake(k):
    p, doc, e, r = k.person(), k.person(), k.person(), k.r
    idl = k.pick_id(p, kinds=["SSN", "NATIONAL_ID"])
    return (f"PATIENT INTAKE – {k.city()} Family Clinic\nPatient: {p.F()}   DOB: {k.date(dob=True)}   Sex: {p.gender}\n"
            f"Address: {k.addr(oneline=r.random() < 0.6, unit=r.random() < 0.3)}\n"
            f"Phone (mobile): {k.phone()}\nE-mail: {p.email()}\n{idl[0]}: {idl[2]}\n"
            f"Primary physician: Dr. {doc.S()}\nEmergency contact: {e.F()}, {k.phone()}\n"
            f"Reason for visit: {r.choice(['follow-up, blood pressure', 'persistent cough (3 weeks)', 'annual check-up', 'knee pain after running'])}\n"
            f"Weight: {r.randint(50, 110)} kg   Height: {r.randint(150, 195)} cm   Appointment: {k.date()} {k.time()}")


def t_rental_application(k):
    p, q1, q2, r = k.person(), k.person(), k.person(), k.r
    chosen = k.id_set(p, 2)
    return (f"RENTAL APPLICATION – listing ref. {k.sku()}\nApplicant: {p.F()}\nDate of birth: {k.date(dob=True)}\n"
            f"Current address (since {r.randint(2012, 2023)}):\n{k.addr(unit=True)}\nPrevious address:\n{k.addr()}\n"
            f"Employer: {k.company()} – monthly net income {k.price(1500, 9000)}\n"
            + "\n".join(f"{a}: {m}" for a, _, m in chosen)
            + f"\nReferences: {q1.F()} ({k.phone()}), {q2.F()} ({q2.email()})\nPets: {r.choice(['none', '1 cat', '1 small dog'])}")


def t_security_alert(k):
    p, r = k.person(), k.r
    greet = f"Hi {p.G()},\n\n" if r.random() < 0.6 else ""
    return (f"Security alert for {p.email()}\n\n{greet}We noticed a new sign-in to your {k.app()} account.\n"
            f"When: {k.date()} {k.time()} UTC\nWhere: {k.city()}, {r.choice(k.cfg['country'])} (approximate)\nIP address: {k.ip()}\n"
            f"Device: {r.choice(['Chrome', 'Firefox', 'Safari', 'Edge'])} {r.randint(100, 126)}.0 on {r.choice(['Windows 11', 'macOS 14.4', 'Android 14', 'iOS 17.5'])}\n\n"
            f"If this was you, you can ignore this message. Otherwise reset your password at https://account.{k.en.domain_name()}/security/reset")


def t_json_payload(k):
    p, r = k.person(), k.r
    body = (f'{{"record_id": "rec_{k.hexid(10)}", "name": "{p.F()}", "email": "{p.email()}", "phone": "{k.phone()}", '
            f'"billing_address": "{k.addr(oneline=True)}", "created_at": "2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{k.time()}:00Z", '
            f'"plan": "{r.choice(["free", "pro", "team"])}", "seats": {r.randint(1, 50)}, "client_ip": "{k.ip()}"}}')
    return f"POST /api/v{r.randint(1, 3)}/customers HTTP/1.1\nHost: api.{k.en.domain_name()}\nContent-Type: application/json\n\n{body}"


def t_sms(k):
    p, doc, r = k.person(), k.person(), k.r
    return r.choice([
        f"Hi {p.G()}, your appointment with Dr. {doc.S()} is confirmed for {k.date()} at {k.time()}. Reply C to cancel or call {k.phone()}.",
        f"{k.company()}: parcel {k.tracking()} will be delivered today 12:00-14:00 to {k.addr(oneline=True)}. Not home? Reply 1.",
        f"Hey {p.G()}! it's {k.person().G()} – new number, save it: {k.phone()}",
        f"{p.G()}, your table for {r.randint(2, 8)} is booked for {k.time()} on {k.date()}. Questions: {k.phone()}",
    ])


def t_meeting_minutes(k):
    r = k.r
    a, b, c, d, e = [k.person() for _ in range(5)]
    return (f"Minutes – {r.choice(['Product', 'Marketing', 'Ops', 'Finance', 'Platform'])} sync, {k.date()}\n"
            f"Attendees: {a.F()}, {b.F()}, {c.F()}, {d.G()} (guest)\nApologies: {e.F()}\n\n"
            f"1. {a.ref()} presented the Q{r.randint(1, 4)} numbers: revenue {k.price(10000, 900000)}, churn {r.randint(1, 9)}.{r.randint(0, 9)}%.\n"
            f"2. {b.G()} will share the deck by {k.date()}.\n"
            f"3. Budget for release {k.version()} approved; {c.ref()} to confirm with finance.\n"
            f"4. {d.G()} suggested moving the offsite from {k.city()} to {k.city()}.\n"
            f"Next meeting: {k.date()}, {k.time()}, Room {r.randint(1, 6)}.{r.randint(1, 20):02d}")


def t_reference_letter(k):
    p, q, r = k.person(), k.person(), k.r
    y = r.randint(2012, 2020)
    return (f"{k.date()}\n\nTo whom it may concern,\n\nI am pleased to recommend {p.F()}, who worked as a {k.job().lower()} at "
            f"{k.company()} from {y} to {y + r.randint(1, 4)}. During that time {p.ref()} led {r.randint(3, 12)} projects and "
            f"consistently delivered on schedule. {he_she(p, True)} is reliable, thoughtful and well liked by colleagues.\n\n"
            f"Please feel free to contact me at {q.email()} or {k.phone()} if you need further details.\n\n"
            f"Sincerely,\n{q.F()}\n{k.job()}, {k.company()}")


def t_travel_booking(k):
    r = k.r
    pax = [k.person(romanize=True) for _ in range(r.randint(1, 3))]
    lines = [f"Booking confirmation – PNR {''.join(r.choice('ABCDEFGHJKLMNPQRSTUVWXYZ23456789') for _ in range(6))}",
             (f"Flight {r.choice(['LH', 'BA', 'AF', 'KL', 'IB', 'SK', 'LO', 'UA', 'NH', 'CA', 'KE', 'LY'])} {r.randint(10, 9999)} "
             f"{k.city()} → {k.city()}, {k.date()} dep. {k.time()}")]
    for i, p in enumerate(pax, 1):
        if p.latin and r.random() < 0.5:
            gds = f"{slug(p.surname).upper()}/{slug(p.given).upper()}"
            nm = P(gds) + f" {'MR' if p.gender == 'M' else 'MS'}"
        else:
            nm = p.F()
        pid = k.pick_id(p, kinds=["PASSPORT"])
        lines.append(f"Passenger {i}: {nm} – seat {r.randint(1, 40)}{r.choice('ABCDEF')} – {pid[0]} {pid[2]} (exp. {k.date()})")
    lines.append(f"Contact: {pax[0].email()}, {k.phone()}")
    lines.append(f"Total paid: {k.price(80, 3000)} – fare basis {''.join(r.choice('ABCDEFGHKLMNQSTVWY') for _ in range(2))}{r.randint(10, 99)}")
    return "\n".join(lines)


def t_tax_form(k):
    p, r = k.person(), k.r
    if k.loc == "en_US":
        tin = k.f.ssn() if r.random() < 0.6 else None
        tin_line = (f"Social security number: {mark('GOVERNMENT_ID', 'SSN', tin if r.random() < 0.6 else tin.replace('-', ''))}"
                    if tin else f"Employer identification number: {mark('GOVERNMENT_ID', 'TAX_ID', k.f.ein())}")
        return (f"Form W-9 (Rev. March 2024) – Request for Taxpayer Identification Number\n1 Name: {p.F()}\n2 Business name: {k.company()}\n"
                f"3 Federal tax classification: {r.choice(['Individual/sole proprietor', 'LLC', 'S Corporation'])}\n"
                f"5 Address: {k.addr(oneline=r.random() < 0.5, unit=r.random() < 0.3)}\nPart I – {tin_line}\nSignature date: {k.date()}")
    ids = k.gov_ids(p)
    taxes = [x for x in ids if "TAX_ID" in x[2]] or [x for x in ids if "NATIONAL_ID" in x[2]] or ids
    t = r.choice(taxes)
    n = r.choice([x for x in ids if "NATIONAL_ID" in x[2] and x is not t] or [x for x in ids if x is not t] or ids)
    return (f"Tax residency self-certification\nName: {p.F()}\nCountry of tax residence: {r.choice(k.cfg['country'])}\n"
            f"Taxpayer identification number ({t[0]}): {t[2]}\n{n[0]}: {n[2]}\nResidential address:\n{k.addr(country=True)}\n"
            f"Date: {k.date()}   Account opened: {k.date()}")


def t_military_mail(k):
    p, r = k.person(), k.r
    rank = r.choice(["SGT", "SPC", "PFC", "CPL", "LT", "CPT", "SSgt", "PO2", "Capt."])
    if r.random() < 0.5:
        return (f"Hi {p.G()}! Care package #{r.randint(2, 9)} goes out {k.date()}. Can you double-check the address?\n\n"
                f"{rank} {p.F()}\n{k.addr(military=True)}\n\nAlso, Grandma's new number is {k.phone()}. Love you!")
    return (f"Ship-to name: {p.F()}\nShip-to address: {k.addr(military=True, oneline=r.random() < 0.5)}\n"
            f"Contents: {r.randint(1, 5)} x {k.product()}, declared value {k.price(10, 300)}\nCustoms form: PS 2976-A\nSender phone: {k.phone()}")


def t_intl_shipping(k):
    p, r = k.person(), k.r
    return (f"Ship-to (international):\n{p.F()}\n{k.addr(country=True, unit=r.random() < 0.25)}\nPhone: {k.phone()}\n\n"
            f"Customs declaration: {k.product()}, value {k.price(20, 900)}, HS code {r.randint(8400, 9600)}.{r.randint(10, 99)}\n"
            f"Gross weight: {r.randint(1, 9)}.{r.randint(0, 9)} kg   Parcels: {r.randint(1, 3)}\nTracking: {k.tracking()}")


def t_local_form(k):
    p, L, r = k.person(romanize=False), k.lab, k.r
    ids = k.gov_ids(p)
    i1 = r.choice(ids)
    bank = k.bank_details()
    lines = [f"{L['title']}", f"{L['name']}: {p.F()}", f"{L['dob']}: {k.date(dob=True)}",
             f"{L['addr']}: {k.addr(oneline=r.random() < 0.5, unit=r.random() < 0.3)}",
             f"{L['phone']}: {k.phone()}", f"{L['email']}: {p.email()}", f"{i1[1]}: {i1[2]}"]
    if r.random() < 0.6:
        lines.append(f"{L['bank']}: " + ", ".join(b if a == L["bank"] else f"{a} {b}" for a, b in bank))
    lines += [f"{L['order']}: {k.order_no()}", f"{L['note']}: {L['note_txt']}", f"{L['date']}: {k.date()}"]
    return "\n".join(lines)


LOCAL_LETTERS = {
    "de": ("{S}\n{SA}\n\n{CO}\n{date}\n\nKündigung meines Vertrags Nr. {ord}\n\nSehr geehrte Damen und Herren,\n\n"
           "hiermit kündige ich meinen Vertrag fristgerecht zum {date2}. Bitte überweisen Sie das verbleibende Guthaben von "
           "{price} auf mein Konto {IBAN}.\nFür Rückfragen erreichen Sie mich unter {PH} oder per E-Mail an {EM}.\n\n"
           "Mit freundlichen Grüßen\n{S2}"),
    "fr": ("{S}\n{SA}\n\n{CO}\nLe {date}\n\nObjet : résiliation du contrat n° {ord}\n\nMadame, Monsieur,\n\n"
           "Je vous prie de bien vouloir résilier mon contrat à compter du {date2} et de rembourser le solde de {price} "
           "sur mon compte {IBAN}.\nVous pouvez me joindre au {PH} ou à l'adresse {EM}.\n\n"
           "Veuillez agréer, Madame, Monsieur, mes salutations distinguées.\n{S2}"),
    "es": ("{S}\n{SA}\n\n{CO}\n{date}\n\nAsunto: baja del contrato n.º {ord}\n\nEstimados señores:\n\n"
           "Por la presente solicito la baja de mi contrato con fecha {date2} y el reembolso del saldo pendiente de {price} "
           "en la cuenta {IBAN}.\nPueden contactarme en el {PH} o en {EM}.\n\nAtentamente,\n{S2}"),
    "it": ("{S}\n{SA}\n\nSpett.le {CO}\n{date}\n\nOggetto: disdetta contratto n. {ord}\n\nGentili Signori,\n\n"
           "con la presente comunico la disdetta del contratto a partire dal {date2} e chiedo il rimborso del credito residuo di "
           "{price} sul conto {IBAN}.\nPer qualsiasi chiarimento sono raggiungibile al {PH} o all'indirizzo {EM}.\n\n"
           "Distinti saluti,\n{S2}"),
    "nl": ("{S}\n{SA}\n\n{CO}\n{date}\n\nBetreft: opzegging contract {ord}\n\nGeachte heer/mevrouw,\n\n"
           "Hierbij zeg ik mijn contract op per {date2}. Wilt u het resterende tegoed van {price} overmaken naar "
           "rekeningnummer {IBAN}?\nU kunt mij bereiken op {PH} of via {EM}.\n\nMet vriendelijke groet,\n{S2}"),
    "pt": ("{S}\n{SA}\n\nÀ {CO}\n{date}\n\nAssunto: cancelamento do contrato nº {ord}\n\nPrezados,\n\n"
           "Solicito o cancelamento do meu contrato a partir de {date2} e a devolução do saldo de {price} na conta {IBAN}.\n"
           "Fico à disposição pelo telefone {PH} ou pelo e-mail {EM}.\n\nAtenciosamente,\n{S2}"),
    "pl": ("{S}\n{SA}\n\n{CO}\n{date}\n\nDotyczy: wypowiedzenie umowy nr {ord}\n\nSzanowni Państwo,\n\n"
           "niniejszym wypowiadam umowę z dniem {date2} i proszę o zwrot nadpłaty w wysokości {price} na rachunek {IBAN}.\n"
           "Kontakt: {PH}, {EM}.\n\nZ poważaniem\n{S2}"),
    "sv": ("{S}\n{SA}\n\n{CO}\n{date}\n\nUppsägning av avtal {ord}\n\nHej,\n\n"
           "Jag säger härmed upp mitt avtal från och med {date2}. Vänligen betala tillbaka återstående saldo på {price} "
           "till konto {IBAN}.\nNå mig på {PH} eller {EM}.\n\nMed vänliga hälsningar\n{S2}"),
    "cs": ("{S}\n{SA}\n\n{CO}\n{date}\n\nVěc: výpověď smlouvy č. {ord}\n\nVážení,\n\n"
           "tímto vypovídám smlouvu ke dni {date2} a žádám o vrácení přeplatku {price} na účet {IBAN}.\n"
           "Kontaktovat mě můžete na čísle {PH} nebo na adrese {EM}.\n\nS pozdravem\n{S2}"),
}


def t_local_letter(k):
    p, r = k.person(), k.r
    tpl = LOCAL_LETTERS[k.cfg["lang"]]
    acct = k.iban() if k.loc != "cs_CZ" or r.random() < 0.5 else k.domestic_bank()[0][1]
    return tpl.format(S=p.F(), SA=k.addr(unit=r.random() < 0.3), CO=k.company(), date=k.date(), ord=k.order_no(),
                      date2=k.date(), price=k.price(10, 900), IBAN=acct, PH=k.phone(), EM=p.email(), S2=p.F())


def t_bug_report(k):
    p, r = k.person(), k.r
    uname = p.ag or slug(k.f.user_name()) or "user"
    prof = mark("URL", "URL", f"https://app.{k.en.domain_name()}/users/{uname}{r.randint(1, 999)}")
    return (f"[BUG] {k.app()} {k.version()}: crash when saving profile\nReporter: {p.F()} ({p.email()})\n"
            f"Environment: {r.choice(['Windows 11', 'Ubuntu 22.04', 'macOS 14.5', 'Android 14'])}, build {k.version()}\n\n"
            f"Steps to reproduce:\n1. Log in and open {prof}\n2. Change the phone field to {k.phone()}\n3. Click Save\n\n"
            f"Expected: profile saved. Actual: HTTP 500.\n\nLog excerpt:\n"
            f"2024-0{r.randint(1, 9)}-{r.randint(10, 28)}T{k.time()}:{r.randint(10, 59)}Z ERROR ProfileController.update: NullPointerException "
            f"(line {r.randint(40, 900)}) client={k.ip()} trace_id={k.hexid(16)}\n\nSee also {k.generic_url()}")


def t_address_change(k):
    p, r = k.person(), k.r
    return (f"Hello,\n\nplease update my {r.choice(['billing', 'shipping', 'postal'])} address.\n\nOld address: {k.addr(oneline=True)}\n"
            f"New address:\n{k.addr(unit=r.random() < 0.6, country=r.random() < 0.3)}\n\nEffective from {k.date()}. "
            f"My order {k.order_no()} should already go to the new address.\n\nThanks,\n{p.F()}\n{k.phone()}")


def t_gdpr_request(k):
    p, r = k.person(), k.r
    maiden = k.person(gender=p.gender)
    prev = ""
    if p.gender == "F" and k.cfg["style"] in ("western", "es") and r.random() < 0.5 and maiden.surname != p.surname:
        prev = f"Previous name: {P(p.given + ' ' + maiden.surname)}\n"
    return (f"Subject: Data subject access request (Art. 15 GDPR)\n\nDear Data Protection Officer,\n\n"
            f"I am writing to request a copy of all personal data {k.company()} holds about me, together with the purposes of "
            f"processing and the recipients to whom it has been disclosed. To help you locate my records:\n\n"
            f"Full name: {p.F()}\n{prev}E-mail addresses used: {p.email()}, {p.email()}\nPhone: {k.phone()}\n"
            f"Postal addresses:\n{k.addr(unit=r.random() < 0.4)}\n(until {k.date()}) {k.addr(oneline=True)}\n"
            f"IP addresses I have logged in from: {k.ip()}, {k.ip()}\nOrder numbers: {k.order_no()}, {k.order_no()}\n\n"
            f"Please respond within one month, as required by the regulation. If you need to verify my identity, "
            f"call me on {k.phone()} between {k.time()} and {k.time()}.\n\nRegards,\n{p.F()}")


def t_contract_parties(k):
    p, r = k.person(), k.r
    idl = k.pick_id(p)
    return (f"{r.choice(['SERVICE AGREEMENT', 'RESIDENTIAL LEASE AGREEMENT', 'CONSULTING AGREEMENT'])}\n\n"
            f"This agreement is made on {k.date()} between {k.company()}, with registered office at {k.addr(oneline=True)} "
            f"(\"the Provider\"), and {p.F()}, born {k.date(dob=True)}, residing at {k.addr(oneline=True, unit=r.random() < 0.4)}, "
            f"holder of {idl[0]} {idl[2]} (\"the Client\").\n\n1. Term: {r.randint(6, 36)} months starting {k.date()}.\n"
            f"2. Fee: {k.price(100, 5000)} per month, payable to {k.iban()}.\n3. Notices shall be sent to {p.email()}.\n\n"
            f"Signed: ______________  {p.F()}")


def t_social_profile(k):
    p, r = k.person(), k.r
    return (f"About me: {k.job().lower()} based in {k.city()}, {r.randint(5, 20)} years in the field. "
            f"Say hi at {p.email()} or check my work on {p.url()} and {p.url()}. "
            f"Our team's blog: {k.generic_url()}")


def t_thread(k):
    p, agent, r = k.person(), k.person(), k.r
    addr = k.addr(unit=r.random() < 0.4)
    order = k.order_no()
    m1 = (f"Hi, I ordered a {k.product()} (order {order}) on {k.date()} and it still hasn't arrived. "
          f"The delivery address is:\n{addr}\nCould you check? – {p.F()}, {k.phone()}")
    m2 = (f"Hi {p.G()},\n\nthanks for your patience. The carrier lost the first parcel, so we've re-sent order {order} "
          f"to the address below with tracking {k.tracking()}:\n{addr}\n\nBest,\n{agent.G()} · {k.company()} customer care")
    return [m1, m2]


def t_voicemail(k):
    p, r = k.person(), k.r
    ph = k.phone()
    return (f"Voicemail from {ph} – {k.date()} {k.time()} ({r.randint(12, 95)} s)\nTranscript: \"Hi, this is {p.F()} calling about "
            f"invoice {k.invoice_no()}. I think I was billed {k.price()} twice. Could you call me back on {ph} or e-mail "
            f"{p.email()}? Thanks.\"")


def t_direct_debit(k):
    p, r = k.person(), k.r
    bank = k.bank_details()
    title = {"en_US": "ACH DEBIT AUTHORIZATION", "en_GB": "Instruction to your bank or building society to pay by Direct Debit",
             "en_AU": "Direct Debit Request (DDR)", "en_CA": "Pre-Authorized Debit (PAD) Agreement"}.get(k.loc, "SEPA Direct Debit Mandate")
    return (f"{title}\nCreditor: {k.company()} – mandate reference {k.invoice_no()}\n\n"
            f"Account holder: {p.F()}\nAddress: {k.addr(oneline=r.random() < 0.5, unit=r.random() < 0.3)}\n"
            + "\n".join(f"{a}: {b}" for a, b in bank)
            + f"\nAmount: {k.price(5, 400)} {r.choice(['monthly', 'quarterly', 'one-off'])}, first collection on {k.date()}\n"
            f"Signed by {p.F()} on {k.date()}. Contact: {p.email()}")


def t_card_update(k):
    p, r = k.person(), k.r
    c = k.card()
    return r.choice([
        (f"Hi, this is {p.F()}. My old card expired – please charge the renewal ({k.price(20, 400)}) to {c}, exp {k.expiry()}. "
        f"The billing address is unchanged. Thanks!"),
        (f"Subject: Payment method update\n\nHello,\n\nplease replace the card on file for {p.F()} ({p.email()}) with {c} "
        f"(valid thru {k.expiry()}). The old card ending in {r.randint(1000, 9999)} was reported stolen on {k.date()}.\n\nRegards,\n{p.G()}"),
        (f"Agent note {k.date()} {k.time()}: customer {p.F()} called from {k.phone()} disputing charge {k.price()} on card {c}. "
        f"Chargeback case {k.ticket_no()} opened; provisional credit within {r.randint(5, 10)} business days."),
    ])


def t_long_email_thread(k):
    a, b, c, r = k.person(), k.person(), k.person(), k.r
    inv = k.invoice_no()
    bank = ", ".join(f"{x} {y}" for x, y in k.bank_details())
    old = (f"On {k.date()} at {k.time()}, {b.F()} <{b.email()}> wrote:\n"
           f"> Hi {a.G()},\n> \n> thanks for the call earlier. As discussed, we'll need the following before we can release\n"
           f"> payment for {inv}:\n> 1. a signed copy of the framework agreement (version {k.version()});\n"
           f"> 2. your bank details on company letterhead;\n> 3. the delivery address for the second batch of {r.randint(20, 300)} units.\n"
           f"> \n> {c.ref()} from our legal team ({c.email()}) is on holiday until {k.date()}, so please send\n"
           f"> the agreement to me directly.\n> \n> Best,\n> {b.G()}\n")
    new = (f"From: {a.F()} <{a.email()}>\nTo: {b.email()}\nCc: {c.email()}\nSubject: Re: {inv} – documents for payment release\n\n"
           f"Hi {b.G()},\n\nplease find the signed agreement attached (scanned, {r.randint(3, 19)} pages). Our bank details are {bank}; "
           f"the letter on company paper follows by post.\n\nThe second batch should go to our warehouse:\n"
           f"{k.addr(unit=r.random() < 0.5, country=r.random() < 0.4)}\n"
           f"Goods receiving is open {k.time()}–{k.time()}, Monday to Friday; the dock manager, {k.person().F()}, can be reached on "
           f"{k.phone()}.\n\nFor anything urgent call my mobile {k.phone()}. I'm travelling to {k.city()} on {k.date()} but will "
           f"check e-mail in the evenings.\n\nKind regards,\n{a.F()}\n{k.job()}, {k.company()}\n{k.addr(oneline=True)}\n\n")
    return new + old


# ------------------------------------------------------------------ no-PII templates
BRANDS = ["Northwind", "Acme Cloud", "Bluefin Outdoor", "Tessellate", "Orbital Coffee Co.", "Kestrel Analytics", "Lumen Home",
          "Fjord Gear", "Pinecrest Tools", "Nimbus Storage"]


def n_order_status(k):
    r = k.r
    return (f"Order {k.order_no()} shipped on {k.date()} via {r.choice(['DHL', 'UPS', 'FedEx', 'DPD', 'USPS'])}, tracking {k.tracking()}. "
            f"{r.randint(1, 9)} item(s), total {k.price()}. Estimated arrival {k.date()} before {k.time()}. "
            f"Dispatched from our {k.city()} warehouse.")


def n_server_log(k):
    r = k.r
    lines = []
    for _ in range(r.randint(3, 6)):
        ts = f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d} {r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d},{r.randint(100, 999)}"
        lines.append(r.choice([
            f"{ts} INFO  worker-{r.randint(1, 16)} job={k.hexid(8)} finished in {r.randint(10, 9000)} ms (rows={r.randint(1, 999999)})",
            f"{ts} WARN  cache miss ratio {r.randint(10, 60)}.{r.randint(0, 9)}% above threshold; pool size {r.randint(8, 128)}",
            f"{ts} INFO  deployed build {k.version()} to cluster eu-{r.choice(['west', 'central', 'north'])}-{r.randint(1, 3)}",
            f"{ts} ERROR request {k.uuid()} failed: upstream timeout after {r.randint(5, 60)}s (port {r.randint(1024, 65535)})",
            f"{ts} DEBUG invoice batch {k.invoice_no()} queued, {r.randint(2, 500)} documents, checksum sha1:{k.hexid(12)}",
        ]))
    return "\n".join(lines)


def n_release_notes(k):
    r = k.r
    v = k.version()
    return (f"Release {v} ({k.date()})\n- Fixed crash when exporting reports larger than {r.randint(2, 50)} MB\n"
            f"- Bumped TLS library to {k.version()}\n- Search now returns results in under {r.randint(50, 400)} ms (p95)\n"
            f"- Known issue: build {k.version()} on ARM64 needs a restart after upgrade\n"
            f"Upgrade guide: {k.generic_url()}")


def n_meeting_agenda(k):
    r = k.r
    return (f"Agenda – quarterly planning, {k.date()}\n{k.time()} Welcome and goals (Room {r.randint(1, 5)}.{r.randint(1, 20):02d})\n"
            f"{k.time()} Roadmap review: {r.choice(BRANDS)} integration, v{r.randint(2, 9)}.0 launch\n{k.time()} Budget: {k.price(10000, 500000)} approved, "
            f"{r.randint(2, 15)}% contingency\n{k.time()} Break\n{k.time()} Team breakouts (platform, growth, support)\n"
            f"Dial-in details will follow from the facilities team.")


def n_invoice_summary(k):
    r = k.r
    return (f"Invoice {k.invoice_no()} – {r.choice(BRANDS)}\nPeriod: {k.date()} to {k.date()}\n"
            f"{r.randint(1, 40)} x licence seats @ {k.price(5, 80)}\nSupport plan ({r.choice(['Gold', 'Silver', 'Basic'])}): {k.price(50, 900)}\n"
            f"Subtotal {k.price(100, 5000)}, tax {k.price(10, 600)}, total {k.price(110, 5600)}. Payment terms: net {r.choice([14, 30, 45])} days.")


def n_travel_notice(k):
    r = k.r
    return (f"Flights from {k.city()} to {k.city()} on {k.date()} are delayed by about {r.randint(30, 240)} minutes. "
            f"Gate changed to {r.choice('ABCDE')}{r.randint(1, 40)}; boarding now at {k.time()}. Flight {r.choice(['LH', 'BA', 'KL', 'SK'])} "
            f"{r.randint(100, 9999)} will use an A{r.choice(['320', '321', '350'])}. Vouchers worth {k.price(5, 30)} are available at the service desk.")


def n_product_review(k):
    r = k.r
    return (f"{r.randint(1, 5)}/5 stars – {k.product()} ({k.sku()})\nBought it on {k.date()} for {k.price()}. Firmware {k.version()} fixed the "
            f"pairing issue but battery still only lasts {r.randint(3, 14)} hours. Shipping to {r.choice(k.cfg['country'])} took {r.randint(2, 15)} days. "
            f"Would {r.choice(['', 'not '])}buy again.")


def n_metrics_report(k):
    r = k.r
    return (f"Weekly metrics ({k.date()}): {r.randint(100000, 999999999)} page views, {r.randint(1000, 99999)} sign-ups "
            f"({r.choice(['+', '-'])}{r.randint(1, 30)}.{r.randint(0, 9)}% WoW), revenue {k.price(1000, 900000)}, "
            f"p99 latency {r.randint(120, 2400)} ms, error budget {r.randint(10, 99)}% remaining. Top market: {r.choice(k.cfg['country'])}; "
            f"fastest-growing city: {k.city()}.")


def n_policy_faq(k):
    r = k.r
    return (f"Returns policy (updated {k.date()}): items can be returned within {r.choice([14, 30, 60])} days. Refunds of up to "
            f"{k.price(50, 500)} are processed in {r.randint(3, 10)} business days. Use the returns form at {k.generic_url()} and "
            f"quote your order number (e.g. {k.order_no()}). Store credit expires after {r.randint(6, 24)} months.")


def n_otp(k):
    r = k.r
    return r.choice([
        f"{r.choice(BRANDS)}: your verification code is {r.randint(100000, 999999)}. It expires in {r.randint(5, 15)} minutes. Never share this code.",
        f"Your {r.choice(BRANDS)} order {k.order_no()} is ready for pickup at locker {r.randint(1, 99)}, code {r.randint(1000, 9999)}. Valid until {k.date()}.",
    ])


PII_TEMPLATES = {
    "sentence_contact": t_sentence_contact, "email_signature": t_email_signature, "support_ticket": t_support_ticket,
    "chat_lowercase": t_chat_lowercase, "web_form": t_web_form, "letter": t_letter, "invoice": t_invoice,
    "access_log": t_access_log, "csv_rows": t_csv_rows, "crm_note": t_crm_note, "hr_record": t_hr_record,
    "shipping_notice": t_shipping_notice, "bank_transfer": t_bank_transfer, "checkout_card": t_checkout_card,
    "medical_intake": t_medical_intake, "rental_application": t_rental_application, "security_alert": t_security_alert,
    "json_payload": t_json_payload, "sms": t_sms, "meeting_minutes": t_meeting_minutes,
    "reference_letter": t_reference_letter, "travel_booking": t_travel_booking, "tax_form": t_tax_form,
    "military_mail": t_military_mail, "intl_shipping": t_intl_shipping, "local_form": t_local_form,
    "local_letter": t_local_letter, "bug_report": t_bug_report, "address_change": t_address_change,
    "gdpr_request": t_gdpr_request, "contract_parties": t_contract_parties, "social_profile": t_social_profile,
    "thread": t_thread, "voicemail": t_voicemail, "direct_debit": t_direct_debit, "card_update": t_card_update,
    "long_email_thread": t_long_email_thread,
}
NOPII_TEMPLATES = {
    "nopii_order_status": n_order_status, "nopii_server_log": n_server_log, "nopii_release_notes": n_release_notes,
    "nopii_meeting_agenda": n_meeting_agenda, "nopii_invoice_summary": n_invoice_summary,
    "nopii_travel_notice": n_travel_notice, "nopii_product_review": n_product_review,
    "nopii_metrics_report": n_metrics_report, "nopii_policy_faq": n_policy_faq, "nopii_otp": n_otp,
}


def applicable(loc, name):
    lang = CFG[loc]["lang"]
    if name == "military_mail":
        return loc == "en_US"
    if name == "local_letter":
        return lang in LOCAL_LETTERS
    if name == "chat_lowercase":
        return loc not in ("ko_KR", "el_GR", "he_IL")
    if name == "local_form":
        return True
    return True


# ====================================================================== build
def group_of(item_id):
    return item_id.rsplit("-", 1)[0]


def make_item(item_id, source, locale, marked):
    text, ents = parse_markup(unicodedata.normalize("NFC", marked))
    ents.sort(key=lambda e: e["start"])
    return {"id": item_id, "split": None, "source": source, "locale": locale, "text": text, "entities": ents}


def generate():
    items = []
    for loc, n in LOCALE_PLAN:
        rng = random.Random(lseed(loc, "schedule"))
        pii = [t for t in PII_TEMPLATES if applicable(loc, t)]
        if loc == "en_US":
            pii += ["military_mail", "military_mail"]
        nop = list(NOPII_TEMPLATES)
        n_nop = round(n * NOPII_SHARE)
        sched = []
        while len(sched) < n - n_nop:
            b = pii[:]
            rng.shuffle(b)
            sched += b
        sched = sched[:n - n_nop]
        extra = []
        while len(extra) < n_nop:
            b = nop[:]
            rng.shuffle(b)
            extra += b
        sched += extra[:n_nop]
        rng.shuffle(sched)
        for i, tname in enumerate(sched):
            k = Kit(loc, i)
            fn = PII_TEMPLATES.get(tname) or NOPII_TEMPLATES[tname]
            out = fn(k)
            texts = out if isinstance(out, list) else [out]
            gid = f"gen-{loc}-{i:03d}"
            for j, mt in enumerate(texts, 1):
                items.append(make_item(f"{gid}-{j}", f"faker:{loc}:{tname}", loc, mt))
    return items


def group_keys(group_items):
    """Counter of balancing keys for one group (counted in texts, or texts containing a subtype)."""
    c = Counter()
    for it in group_items:
        src = it["source"]
        c["all"] += 1
        c[f"locale:{it['locale']}"] += 1
        c["origin:" + ("handwritten" if src == "handwritten" else "generated")] += 1
        c["template:" + src.split(":")[-1]] += 1
        if not it["entities"]:
            c["nopii"] += 1
        for sub in {f"{e['type']}/{e['subtype']}" for e in it["entities"]}:
            c[f"sub:{sub}"] += 1
    return c


def assign_splits(items):
    """Group-level dev/test split (~30 % dev).

    Start from a seeded random assignment, then a seeded local search swaps one dev group with
    one test group whenever that brings the dev share of every locale, template, origin, no-PII
    texts and entity subtype closer to 30 %, with a large penalty for any locale or subtype that
    is missing from one of the two splits. Deterministic for a fixed SPLIT_SEED."""
    groups = defaultdict(list)
    for it in items:
        groups[group_of(it["id"])].append(it)
    gids = sorted(groups)
    keys = {g: group_keys(groups[g]) for g in gids}
    total = Counter()
    for g in gids:
        total.update(keys[g])
    rng = random.Random(SPLIT_SEED)
    order = gids[:]
    rng.shuffle(order)
    dev, acc = set(), 0
    for g in order:
        if acc < DEV_FRACTION * total["all"]:
            dev.add(g)
            acc += keys[g]["all"]
    devc = Counter()
    for g in dev:
        devc.update(keys[g])

    def cost_key(k, d):
        n = total[k]
        c = (d - DEV_FRACTION * n) ** 2 / n
        if n >= 2 and (d == 0 or d == n):
            c += 1000.0
        if k == "all":
            c *= 20
        return c

    dev_l, test_l = sorted(dev), sorted(set(gids) - dev)
    for _ in range(60000):
        i, j = rng.randrange(len(dev_l)), rng.randrange(len(test_l))
        a, b = dev_l[i], test_l[j]          # move a: dev->test, b: test->dev
        affected = set(keys[a]) | set(keys[b])
        delta = 0.0
        for k in affected:
            d0 = devc[k]
            d1 = d0 - keys[a][k] + keys[b][k]
            delta += cost_key(k, d1) - cost_key(k, d0)
        if delta < -1e-12:
            devc.subtract(keys[a])
            devc.update(keys[b])
            dev_l[i], test_l[j] = b, a
    dev = set(dev_l)
    for k in sorted(total):
        if total[k] >= 2 and (devc[k] == 0 or devc[k] == total[k]):
            print(f"WARNING: {k} present in only one split", file=sys.stderr)
    for it in items:
        it["split"] = "dev" if group_of(it["id"]) in dev else "test"
    return items


def main():
    gen = generate()
    hw_path = HERE / "pii_handwritten.jsonl"
    hw = [json.loads(l) for l in hw_path.read_text(encoding="utf-8").splitlines() if l.strip()] if hw_path.exists() else []
    if not hw:
        print("WARNING: no hand-written items found", file=sys.stderr)
    for it in hw:
        it["split"] = None
    items = assign_splits(gen + hw)
    out = HERE.parents[1] / "layers" / "nlpbuild" / "data" / "heldout" / "pii_heldout.jsonl"
    with out.open("w", encoding="utf-8") as fh:
        for it in items:
            rec = {k: it[k] for k in ("id", "split", "source", "locale", "text", "entities")}
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    c = Counter(it["split"] for it in items)
    print(f"Faker {FAKER_VERSION}, seed {SEED}, split seed {SPLIT_SEED}: wrote {len(items)} items "
          f"({len(gen)} generated, {len(hw)} hand-written) -> {out.name}; dev={c['dev']} test={c['test']}")


if __name__ == "__main__":
    main()
