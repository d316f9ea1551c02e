"""The reference tables (vendor notes, "Reference tables"): a few to a few dozen rows each,
generated from the seed alone, with the fields the vendor docs list.

``products`` and friends are plain dicts in the canonical form (amounts as decimal
strings); bookings and invoices link to them by id.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from recras_sandbox import model
from recras_sandbox.resources.money import amount, cents

Row = dict[str, Any]

_LOCATIONS = (
    ("Hoofdgebouw", "#1f77b4", "Amsterdam"), ("Zaal De Linde", "#ff7f0e", "Amsterdam"),
    ("Buitenterrein", "#2ca02c", "Utrecht"), ("Klimhal", "#d62728", "Utrecht"),
    ("Restaurant 't Hoekje", "#9467bd", "Zwolle"), ("Vergaderzaal Pôle", "#8c564b", "Zwolle"),
    ("Strandpaviljoen", "#e377c2", "IJmuiden"), ("Boerderij De Wilg", "#7f7f7f", "Goes"),
)  # fmt: skip
#: (naam, verkoop in cents, btw %, duur, group index)
_PRODUCTS = (
    ("Lasergamen", 1750, 21, "PT1H", 0), ("Klimmen", 2250, 21, "PT2H", 0),
    ("Kanoën", 2500, 21, "PT3H", 0), ("Boogschieten", 1500, 21, "PT1H", 0),
    ("Escape room", 2995, 21, "PT1H", 0), ("Blotevoetenpad", 850, 21, "PT30M", 0),
    ("Koffie met gebak", 595, 9, "PT30M", 1), ("Lunchbuffet", 1895, 9, "PT1H", 1),
    ("BBQ", 3250, 9, "PT2H", 1), ("Drankenarrangement", 1750, 21, "PT3H", 1),
    ("Pannenkoek", 895, 9, "PT1H", 1), ("Friet met snack", 750, 9, "PT30M", 1),
    ("Zaalhuur", 25000, 21, "PT4H", 2), ("Beamer", 4500, 21, "PT4H", 2),
    ("Dagdeel vergaderen", 3950, 21, "PT4H", 2), ("Begeleider", 4250, 21, "PT1H", 3),
    ("Fotograaf", 9500, 21, "PT2H", 3), ("Kinderfeestje", 1295, 21, "PT2H", 4),
    ("Cadeaubon", 2500, 0, "PT0S", 4), ("Borg", 5000, 0, "PT0S", 4),
)  # fmt: skip
_GROUPS = (
    ("Activiteiten", "activiteiten", "8000"), ("Eten en drinken", "eten-en-drinken", "8100"),
    ("Zalen", "zalen", "8200"), ("Personeel", "personeel", "8300"), ("Overig", "overig", "8900"),
)  # fmt: skip
_PACKAGES = (
    "Bedrijfsuitje Actief", "Kinderfeest Deluxe", "Vrijgezellenfeest", "Schoolreisje",
    "Vergaderarrangement", "Familiedag", "Teambuilding Outdoor", "Zomer BBQ-pakket",
    "Klim & Lunch", "Avondje Lasergamen",
)  # fmt: skip
_PAYMENT_METHODS = (
    ("Pin", True, "manual"), ("Contant", True, "manual"), ("iDEAL (Mollie)", False, "manual"),
    ("Bankoverschrijving", False, "accounting"), ("Op rekening", False, "accounting"),
)  # fmt: skip
_FORM_FIELDS = (
    ("Naam", "contactpersoon.naam", "contactpersoon.naam", None),
    ("E-mailadres", "contactpersoon.email1", "contactpersoon.email1", None),
    ("Telefoon", "contactpersoon.telefoon1", "contactpersoon.telefoon1", None),
    ("Aantal personen", "boeking.aantal_personen", "boeking.aantal_personen", None),
    ("Dieetwensen", "keuze", "dieetwensen", ["Geen", "Vegetarisch", "Veganistisch", "Glutenvrij"]),
    ("Opmerkingen", "veel_tekst", "opmerkingen", None),
)


@dataclass
class ReferenceData:
    """Every reference table's rows, canonical, by table name (the API path's last part)."""

    tables: dict[str, list[Row]]

    def ids(self, table: str) -> list[int]:
        return [row["id"] for row in self.tables[table]]

    @property
    def products(self) -> list[Row]:
        return self.tables["producten"]


def generate(seed: int) -> ReferenceData:
    """The reference tables of a sandbox seeded with ``seed``; shifts (diensten) come with
    the bookings they staff (:func:`shifts`)."""
    rng = random.Random(f"recras-sandbox-reference:{seed}")  # noqa: S311 - not crypto
    locaties = _locations(rng)
    producten = _products(rng, [row["id"] for row in locaties])
    formulieren = _forms()
    tables = {
        "locaties": locaties,
        "productgroepen": [
            {"id": i, "naam": naam, "slug": slug, "ledger_number": ledger}
            for i, (naam, slug, ledger) in enumerate(_GROUPS, start=1)
        ],
        "producten": producten,
        "arrangementen": _packages(rng, producten, formulieren),
        "betaalmethoden": [
            {
                "id": i,
                "naam": naam,
                "weergeven_in_kassa": kassa,
                "bevestiging_mailen": not kassa,
                "type": kind,
                "is_deletable": i > 2,
                "ledger_number": f"110{i}",
            }
            for i, (naam, kassa, kind) in enumerate(_PAYMENT_METHODS, start=1)
        ],
        "bedrijven": _companies(),
        "contactformulieren": formulieren,
        "voucher_templates": _voucher_templates(producten, formulieren),
    }
    return ReferenceData(tables)


def _locations(rng: random.Random) -> list[Row]:
    rows = []
    for i, (naam, kleur, plaats) in enumerate(_LOCATIONS, start=1):
        rows.append(
            {
                "id": i,
                "naam": naam,
                "weergavenaam": naam if i % 3 else None,
                "kleur": kleur,
                "adres": f"Recreatieweg {i * 7}",
                "postcode": f"{1000 + i * 311} A{chr(65 + i)}",
                "plaats": plaats,
                "telefoonnummer": f"0{rng.randrange(10, 99)}-{rng.randrange(10**6, 10**7)}",
                "latitude": round(51.4 + rng.random() * 1.8, 6),
                "longitude": round(3.6 + rng.random() * 3.2, 6),
                "capaciteit": rng.choice((20, 40, 60, 120, 250)),
                "aantal_groepen": rng.choice((1, 2, 4)),
                # Rooms inside the main building name it as their parent.
                "parent_id": 1 if naam.startswith(("Zaal", "Vergaderzaal")) else None,
            }
        )
    return rows


def _products(rng: random.Random, locatie_ids: list[int]) -> list[Row]:
    rows = []
    for i, (naam, verkoop, btw, duur, group) in enumerate(_PRODUCTS, start=1):
        rows.append(
            {
                "id": i,
                "naam": naam,
                "weergavenaam": naam,
                "beschrijving_klant": f"{naam} bij Recreatiepark Sandbox",
                "uitgebreide_omschrijving": None
                if i % 4 == 0
                else f"<p>{naam}, zie de website</p>",
                "duur": duur,
                "verkoop": amount(verkoop),
                "inkoop": amount(verkoop * rng.choice((30, 40, 50)) // 100),
                "btw": btw,
                "aantalbepaling": "vast" if group in (2, 4) else "per_persoon",
                "minimum_aantal": rng.choice((0, 1, 1, 8)),
                "leverancier_id": None if group != 1 else 1 + i % 3,
                "locatie_verplicht": group in (0, 2),
                "los_op_planning": group != 4,
                "afbeelding_href": f"/api2/producten/{i}/afbeelding" if i % 3 else None,
            }
        )
    return rows


def _packages(rng: random.Random, producten: list[Row], formulieren: list[Row]) -> list[Row]:
    rows = []
    regel_id = 1
    for i, naam in enumerate(_PACKAGES, start=1):
        personen = rng.choice((8, 10, 15, 20, 25))
        chosen = rng.sample(producten[:12], rng.randrange(1, 4))
        regels = []
        hour = 10
        for product in chosen:
            regels.append(
                {
                    "id": regel_id,
                    "locatie_id": 1 + regel_id % len(_LOCATIONS),
                    "begin": f"2000-01-01T{hour:02d}:00:00+01:00",
                    "eind": f"2000-01-01T{hour + 1:02d}:00:00+01:00",
                    "beschrijving": product["naam"],
                    "aantal_personen": personen,
                    "product_id": product["id"],
                    "product": product,
                }
            )
            regel_id += 1
            hour += 1
        pp = sum(cents(p["verkoop"]) for p in chosen)
        rows.append(
            {
                "id": i,
                "weergavenaam": naam,
                "mag_online": i % 4 != 0,
                "aantal_personen": personen,
                "prijs_pp_inc": amount(pp),
                "prijs_totaal_inc": amount(pp * personen),
                "uitgebreide_omschrijving": f"<p>{naam} voor {personen} personen.</p>",
                "maximum_aantal_personen_online": None if i % 3 == 0 else personen * 4,
                "ontvangstlocatie": "Hoofdgebouw" if i % 2 else "Buitenterrein",
                "onlineboeking_contactformulier_id": formulieren[i % len(formulieren)]["id"],
                "regels": regels,
                # The docs name the program but not its items' fields: left empty.
                "programma": [],
            }
        )
    return rows


def _companies() -> list[Row]:
    return [
        {
            "id": company_id,
            "bedrijfsnaam": naam,
            "weergavenaam": naam.split(" B.V.")[0],
            "btw_nummer": f"NL00{company_id}234567B01",
            "email": f"info@bedrijf{company_id}.example.nl",
            "slogan": slogan,
            "factuur_betaaltermijn": termijn,
        }
        for company_id, naam, slogan, termijn in (
            (1, "Recreatiepark Sandbox B.V.", "Altijd wat te beleven", 14),
            (2, "Sandbox Events B.V.", None, 30),
        )
    ]


def _forms() -> list[Row]:
    rows = []
    field_id = 1
    for form_id, (naam, count) in enumerate(
        (("Online boeken", 6), ("Offerteaanvraag", 5), ("Kinderfeest aanvragen", 4)), start=1
    ):
        velden = []
        for label, soort, identifier, keuzes in _FORM_FIELDS[:count]:
            velden.append(
                {
                    "id": field_id,
                    "naam": label,
                    "soort_invoer": soort,
                    "verplicht": soort.startswith("contactpersoon"),
                    "mogelijke_keuzes": keuzes or [],
                    "field_identifier": identifier,
                }
            )
            field_id += 1
        rows.append({"id": form_id, "naam": naam, "Velden": velden})
    return rows


def _voucher_templates(producten: list[Row], formulieren: list[Row]) -> list[Row]:
    rows = []
    for i, (naam, product_ids, price) in enumerate(
        (
            ("Cadeaubon Klimmen", [2], 2250),
            ("Cadeaubon Lunch + Activiteit", [8, 1], 3645),
            ("Dagje uit voor twee", [3, 7], 6190),
            ("Tegoedbon 50 euro", [19], 5000),
        ),
        start=1,
    ):
        rows.append(
            {
                "id": i,
                "name": naam,
                "description": "Te besteden aan "
                + ", ".join(producten[p - 1]["naam"] for p in product_ids),
                "product_amount": len(product_ids),
                "price": amount(price),
                "expire_days": 365 if i % 2 else None,
                "internal_reference": f"VT-{i:03d}",
                "contactform_id": formulieren[0]["id"],
                "company_id": model.DEFAULT_COMPANY_ID,
                # The docs name the list, not its items: the products the voucher is for.
                "products": [{"id": p, "naam": producten[p - 1]["naam"]} for p in product_ids],
            }
        )
    return rows
