"""Deterministic generation of realistic Dutch customers and contact persons.

A million customers must be generated in seconds, so values are drawn column-wise
(``Random.choices`` with ``k=n`` runs in C) from pools of pre-encoded JSON fragments
and assembled with one ``%`` format per row; no ``json.dumps`` per record.

Some contact persons belong to two customers, as in Recras, where a person is an entity
of its own: every :data:`SHARED_EVERY`-th customer with fewer than three persons also
lists the main contact of the customer before it, as a non-main person.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from itertools import accumulate
from json.encoder import encode_basestring_ascii

_NULL = "null"

MALE_NAMES = (
    "Jan", "Pieter", "Daan", "Sem", "Bram", "Thijs", "Joost", "Kees", "Wim", "Pascal",
    "René", "Björn", "Jürgen", "IJsbrand", "Hüseyin", "Mohammed", "Luuk", "Stijn", "Gerrit",
    "Maarten", "Noël", "Jesse", "Ruud", "Sjoerd", "Ties",
)  # fmt: skip
FEMALE_NAMES = (
    "Sanne", "Femke", "Anouk", "Lieke", "Zoë", "Chloë", "Joëlle", "Geneviève", "Maaike",
    "Marieke", "Janny", "Corry", "Noor", "Emma", "Lotte", "Fatima", "Özlem", "Çağla",
    "Ilse", "Inge", "Hélène", "Renée", "Mieke", "Sevda", "Tessa",
)  # fmt: skip
SURNAMES = (
    "de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer",
    "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Dijk", "Dekker",
    "Brouwer", "van Eëmeren", "Müller", "Schröder", "IJzerman", "van IJsseldijk", "Smeets",
    "Lemaître", "Öztürk", "Yılmaz",  # noqa: RUF001 - a real Turkish-Dutch surname "Coëlho", "van 't Hof", "D'Hondt", "Nguyễn",
    "van der Heijden", "Kuijpers", "Wijnands", "Gerrits", "Prinsen",
)  # fmt: skip
CITIES = (
    ("Amsterdam", "NL-NH"), ("Rotterdam", "NL-ZH"), ("Den Haag", "NL-ZH"),
    ("Utrecht", "NL-UT"), ("Eindhoven", "NL-NB"), ("Groningen", "NL-GR"),
    ("Tilburg", "NL-NB"), ("Almere", "NL-FL"), ("Breda", "NL-NB"), ("Nijmegen", "NL-GE"),
    ("Assen", "NL-DR"), ("Appingedam", "NL-GR"), ("Leeuwarden", "NL-FR"),
    ("Zwolle", "NL-OV"), ("Maastricht", "NL-LI"), ("Middelburg", "NL-ZE"),
    ("'s-Hertogenbosch", "NL-NB"), ("IJsselstein", "NL-UT"), ("IJmuiden", "NL-NH"),
    ("Súdwest-Fryslân", "NL-FR"), ("Hoogeveen", "NL-DR"), ("Enschede", "NL-OV"),
    ("Roermond", "NL-LI"), ("Goes", "NL-ZE"), ("Lelystad", "NL-FL"), ("Arnhem", "NL-GE"),
)  # fmt: skip
STREETS = (
    "Kerkstraat", "Dorpsstraat", "Molenweg", "Schoolstraat", "Julianastraat", "Beatrixlaan",
    "Stationsweg", "Hoofdstraat", "Prinses Irenestraat", "Van 't Hoffstraat",
    "Coöperatieweg", "Kanaaldijk", "IJsselkade", "Burgemeester Pruisstraat", "Testraat",
    "Ericaweg", "Rijksstraatweg", "Markt", "Brink", "Oude Gracht",
)  # fmt: skip
NOUNS = ("Regenboog", "Klimop", "Hoekje", "Zonnebloem", "Wilg", "Linde", "Vlonder", "Pôle")
DOMAINS = ("example.com", "example.nl", "voorbeeld.nl", "test.recras.nl", "example.be")
CUSTOMER_PATTERNS = (
    "Familie {s}", "{m} en {f} en kids", "Bakkerij {S}", "{S} B.V.", "Stichting {c}",
    "Gemeente {c}", "Basisschool De {n}", "Voetbalvereniging {c}", "Café 't {n}",
    "{S} & Zn.", "Personeelsvereniging {S} Groep", "Scouting {c}", "OBS 't {n}",
    "Vrijgezellenfeest {f}", "Kinderfeestje {m} {s}", "Zorginstelling De {n}",
)  # fmt: skip


def _weighted(*pairs: tuple[str | None, float]) -> tuple[list[str], list[float]]:
    """Pool of JSON fragments and cumulative weights; ``None`` means JSON null."""
    values = [_NULL if v is None else encode_basestring_ascii(v) for v, _ in pairs]
    return values, list(accumulate(w for _, w in pairs))


def _fold(text: str) -> str:
    """ASCII local part for e-mail addresses: 'van Eëmeren' -> 'vaneemeren'."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _cap(text: str) -> str:
    """Capitalise the first letter only ('van den Berg' -> 'Van den Berg')."""
    return text[:1].upper() + text[1:]


_SOORT = _weighted(
    ("Familie", 3), ("Bedrijf", 3), ("School", 1), ("Vereniging", 1), ("Particulier", 1),
    ("", 2), (None, 3),
)  # fmt: skip
_AFDELING = _weighted(
    (None, 10), ("", 4), ("Inkoop", 1), ("Personeelszaken", 1), ("Groep 8", 1), ("Marketing", 1)
)
_FACTUUR = _weighted(
    (None, 12), ("", 4), ("t.a.v. Crediteurenadministratie", 2),
    ("Postbus 123, 1000 AB Amsterdam", 1),
)  # fmt: skip
_LANDCODE = _weighted(("NL", 85), ("BE", 6), ("DE", 3), (None, 6))
_AANHEF = _weighted(
    (None, 14), ("", 3), ("Geachte heer", 1), ("Geachte mevrouw", 1), ("Beste", 1), ("Hoi", 1)
)
_NIEUWSBRIEF = (["", ',"nieuwsbrief_ids":[1]', ',"nieuwsbrief_ids":[1,3]', ',"nieuwsbrief_ids":[]'],
                list(accumulate((70, 15, 10, 5))))  # fmt: skip
_PERSON_COUNTS = ([1, 2, 3], list(accumulate((60, 30, 10))))
#: Every SHARED_EVERY-th generated customer (see the module docstring) shares a person.
SHARED_EVERY = 5
_ID_GAPS = ([1, 2, 3, 5, 8, 40, 173], list(accumulate((70, 12, 7, 5, 3, 2, 1))))

_CUSTOMER_TEMPLATE = (
    '{"id":%d,"type":"klant","displaynaam":%s,"naam":%s,"adres":%s,"postcode":%s,'
    '"plaats":%s,"provinciecode":%s,"website":%s,"bedrijf_id":%d,"soort_klant":%s,'
    '"afdeling":%s,"factuur_adressering":%s,"landcode":%s,"btw_nummer":%s,'
    '"kvk_nummer":%s,"mag_type_wijzigen":%s,"_links":{"self":{"href":"%s/klanten/%d"}}}'
)
_PERSON_TEMPLATE = (
    '{"id":%d,"voornaam":%s,"achternaam":%s,"geslacht":"%s","aanhef":%s,"adres":%s,'
    '"postcode":%s,"plaats":%s,"telefoon1":%s,"telefoon2":%s,"email1":%s,"email2":%s%s}'
)


@dataclass
class Batch:
    """Generated rows, as parallel lists to keep a million records compact."""

    customer_ids: list[int] = field(default_factory=list)
    customer_items: list[bytes] = field(default_factory=list)
    members: list[tuple[int, ...]] = field(default_factory=list)
    person_ids: list[int] = field(default_factory=list)
    person_items: list[bytes] = field(default_factory=list)


def _pools(rng: random.Random) -> dict[str, list[str]]:
    """Pre-generated pools of values that are costly to build per row."""
    phones = []
    for _ in range(4000):
        kind = rng.random()
        if kind < 0.5:
            phones.append(f"06-{rng.randrange(10**8):08d}")
        elif kind < 0.8:
            phones.append(f"0{rng.randrange(10, 99)}{rng.randrange(10**7):07d}")
        else:
            phones.append(f"+31 6 {rng.randrange(10**4):04d} {rng.randrange(10**4):04d}")
    postcodes = []
    for _ in range(4000):
        letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTVWXZ") for _ in range(2))
        sep = " " if rng.random() < 0.6 else ""
        postcodes.append(f"{rng.randrange(1000, 10000)}{sep}{letters}")
    addresses = []
    for _ in range(4000):
        suffix = rng.choice(("", "", "", "", "a", "-2", " bis", "B"))
        addresses.append(f"{rng.choice(STREETS)} {rng.randrange(1, 250)}{suffix}")
    return {
        "phone": [encode_basestring_ascii(p) for p in phones],
        "postcode": [encode_basestring_ascii(p) for p in postcodes],
        "address": [encode_basestring_ascii(a) for a in addresses],
        "btw": [encode_basestring_ascii(f"NL{rng.randrange(10**9):09d}B01") for _ in range(500)],
        "kvk": [encode_basestring_ascii(f"{rng.randrange(10**8):08d}") for _ in range(500)],
    }


def _with_blanks(
    rng: random.Random, pool: list[str], n: int, null_rate: float, empty_rate: float
) -> list[str]:
    """Draw ``n`` fragments from ``pool``, a fraction replaced by null or ""."""
    values = rng.choices(pool, k=n)
    rolls = rng.choices((0, 1, 2), cum_weights=(null_rate, null_rate + empty_rate, 1.0), k=n)
    return [
        v if r == 2 else (_NULL if r == 0 else '""') for v, r in zip(values, rolls, strict=True)
    ]


# One flat hot loop on purpose: helper calls per row would cost seconds at 1M rows.
def generate(  # noqa: PLR0912, PLR0915
    count: int, seed: int, first_customer_id: int, first_person_id: int
) -> Batch:
    """Generate ``count`` customers; ids start near the given ones and have gaps.

    The result depends only on the arguments, so a seed always yields the same data.
    """
    batch = Batch()
    if count <= 0:
        return batch
    rng = random.Random(f"recras-sandbox:{seed}:{first_customer_id}:{count}")  # noqa: S311
    pools = _pools(rng)

    gaps = rng.choices(_ID_GAPS[0], cum_weights=_ID_GAPS[1], k=count)
    batch.customer_ids = list(accumulate(gaps, initial=first_customer_id - 1))[1:]
    counts = rng.choices(_PERSON_COUNTS[0], cum_weights=_PERSON_COUNTS[1], k=count)
    total = sum(counts)
    pgaps = rng.choices(_ID_GAPS[0], cum_weights=_ID_GAPS[1], k=total)
    batch.person_ids = list(accumulate(pgaps, initial=first_person_id - 1))[1:]

    # Person columns.
    genders = rng.choices(("man", "vrouw", "onbekend"), cum_weights=(47, 94, 100), k=total)
    male = rng.choices(MALE_NAMES, k=total)
    female = rng.choices(FEMALE_NAMES, k=total)
    surnames = rng.choices(SURNAMES, k=total)
    aanhef = rng.choices(_AANHEF[0], cum_weights=_AANHEF[1], k=total)
    phone1 = _with_blanks(rng, pools["phone"], total, 0.25, 0.1)
    phone2 = _with_blanks(rng, pools["phone"], total, 0.8, 0.1)
    mail_rolls = rng.choices(range(10), k=total)
    domains = rng.choices(DOMAINS, k=total)
    nieuwsbrief = rng.choices(_NIEUWSBRIEF[0], cum_weights=_NIEUWSBRIEF[1], k=total)
    same_address = rng.choices((True, False), cum_weights=(60, 100), k=total)
    info_mail = {d: encode_basestring_ascii(f"info@{d}") for d in DOMAINS}

    # Customer columns.
    patterns = rng.choices(range(len(CUSTOMER_PATTERNS)), k=count)
    nameless = rng.choices((True, False), cum_weights=(4, 100), k=count)
    cities = rng.choices(CITIES, k=count)
    loc_rolls = rng.choices(range(10), k=count)
    c_address = _with_blanks(rng, pools["address"], count, 0.15, 0.05)
    c_postcode = rng.choices(pools["postcode"], k=count)
    web_rolls = rng.choices(range(10), k=count)
    bedrijf = rng.choices((1, 2), cum_weights=(80, 100), k=count)
    soort = rng.choices(_SOORT[0], cum_weights=_SOORT[1], k=count)
    afdeling = rng.choices(_AFDELING[0], cum_weights=_AFDELING[1], k=count)
    factuur = rng.choices(_FACTUUR[0], cum_weights=_FACTUUR[1], k=count)
    landcode = rng.choices(_LANDCODE[0], cum_weights=_LANDCODE[1], k=count)
    btw = _with_blanks(rng, pools["btw"], count, 0.6, 0.2)
    kvk = _with_blanks(rng, pools["kvk"], count, 0.6, 0.2)
    mag = rng.choices(("true", "false"), cum_weights=(85, 100), k=count)
    old_links = rng.choices(("/api2", "/api2.php"), cum_weights=(98, 100), k=count)
    c_extra_m = rng.choices(MALE_NAMES, k=count)
    c_extra_f = rng.choices(FEMALE_NAMES, k=count)
    c_extra_s = rng.choices(SURNAMES, k=count)
    c_nouns = rng.choices(NOUNS, k=count)

    # Pool values are encoded, folded and capitalised once; only composed strings
    # (names, e-mail addresses, websites) are encoded per row.
    enc = encode_basestring_ascii
    cap = {name: _cap(name) for name in SURNAMES}
    words = {*MALE_NAMES, *FEMALE_NAMES, *SURNAMES, *cap.values()}
    fold = {word: _fold(word) for word in words}
    pooled = {w: enc(w) for w in (*words, *(c for pair in CITIES for c in pair))}

    customer_items = batch.customer_items
    person_items = batch.person_items
    members = batch.members
    person_ids = batch.person_ids
    p = 0
    for i in range(count):
        cid = batch.customer_ids[i]
        city, province = cities[i]
        roll = loc_rolls[i]
        if roll == 0:
            plaats, provincie, postcode = _NULL, _NULL, _NULL
        elif roll == 1:
            plaats, provincie, postcode = '""', '""', '""'
        else:
            plaats, provincie, postcode = pooled[city], pooled[province], c_postcode[i]
        adres = c_address[i]

        first = p
        for _ in range(counts[i]):
            g = genders[p]
            voornaam = male[p] if g == "man" else female[p] if g == "vrouw" else male[p]
            achternaam = cap[surnames[p]] if p == first else surnames[p]
            roll = mail_rolls[p]
            if roll == 0:
                email1 = _NULL
            elif roll == 1:
                email1 = '""'
            else:
                local = f"{fold[voornaam]}.{fold[achternaam]}{p % 97}@{domains[p]}"
                email1 = enc(local.upper() if roll == 2 else local)
            if same_address[p]:
                p_adres, p_postcode, p_plaats = adres, postcode, plaats
            else:
                p_adres, p_postcode, p_plaats = _NULL, _NULL, _NULL
            person_items.append(
                (
                    _PERSON_TEMPLATE
                    % (
                        person_ids[p],
                        pooled[voornaam],
                        pooled[achternaam],
                        g,
                        aanhef[p],
                        p_adres,
                        p_postcode,
                        p_plaats,
                        phone1[p],
                        phone2[p],
                        email1,
                        '""' if roll == 3 else info_mail[domains[p]] if roll == 4 else _NULL,
                        nieuwsbrief[p],
                    )
                ).encode("ascii")
            )
            p += 1
        own = tuple(person_ids[first:p])
        if i % SHARED_EVERY == SHARED_EVERY - 1 and len(own) < 3:
            own += (members[i - 1][0],)
        members.append(own)

        if nameless[i]:
            naam = _NULL if i % 2 else '""'
            g = genders[first]
            main_first = male[first] if g != "vrouw" else female[first]
            display = enc(f"{main_first} {cap[surnames[first]]}")
        else:
            text = CUSTOMER_PATTERNS[patterns[i]].format(
                s=surnames[first],
                S=cap[c_extra_s[i]],
                m=c_extra_m[i],
                f=c_extra_f[i],
                c=city,
                n=c_nouns[i],
            )
            naam = display = enc(text)
        web = web_rolls[i]
        if web < 4:
            website = _NULL
        elif web < 6:
            website = '""'
        else:
            scheme = "https://www." if web < 9 else "http://"
            website = enc(f"{scheme}{fold[c_extra_s[i]]}{cid % 1000}.{domains[first]}")
        customer_items.append(
            (
                _CUSTOMER_TEMPLATE
                % (
                    cid,
                    display,
                    naam,
                    adres,
                    postcode,
                    plaats,
                    provincie,
                    website,
                    bedrijf[i],
                    soort[i],
                    afdeling[i],
                    factuur[i],
                    landcode[i],
                    btw[i],
                    kvk[i],
                    mag[i],
                    old_links[i],
                    cid,
                )
            ).encode("ascii")
        )
    return batch


def next_start(max_id: int, seed: int) -> int:
    """First id of a generated batch above ``max_id``: leave a small deterministic gap."""
    return max_id + 1 + random.Random(f"gap:{seed}:{max_id}").randrange(0, 7)  # noqa: S311
