#!/usr/bin/env python3
"""Writes data/demo/ror-92nord.ndjson: a synthetic, ROR-shaped directory of the DAC 92 Nord territory.

FHIR R4 NDJSON, one resource per line: Organization (EJ, EG, OI), Location, HealthcareService
("offre opérationnelle"), Practitioner, PractitionerRole, shaped like the ROR profiles
(DOMAIN.md §1.3-§1.4; extension URLs of the ROR IG, https://interop.esante.gouv.fr/ig/fhir/ror/).

Everything is invented: names, addresses, telephone numbers, e-mail addresses and identifiers.
FINESS-looking numbers have a letter in third place ("92D…"), which no real FINESS number has
(pattern [0-9][0-9A-Z][0-9]{7}), and live in the system urn:atomes:demo:finess, so they can never
be joined with a real FINESS file. Telephone numbers are in the 01 99 00 xx xx and 06 39 98 xx xx
ranges that ARCEP reserves for fiction; e-mail domains end in .invalid (RFC 2606).

Codes: every coded value is a real code. Those of TRE_R66, R211, R213, R227, R239, R329 and R330 are
looked up in data/nos/*.json (the script stops if a code is missing or retired). The few other
NOS tables used (R200, R201, R240, R283, R287, R331, G15) are not in data/nos/: their codes are
transcribed below from ansforge/IG-NOS ig/allNos2 at commit b8b0cc32cc5e1471d417d6d3a3dd17bfb0fce3e9.
Commune codes (INSEE COG) are from memory (DOMAIN.md §6 lists them as unverified).

Positions: commune centres are approximate (to about 0.5 km, from memory); each site is put at a
random point within 1.2 km of its commune's centre, so a site may fall just across a commune
border. Dates: lastUpdated spread over the 18 months before 2026-11-01, capacities updated in the
60 days before it.

Deterministic: a fixed seed and a local SplitMix64 generator, so the same script writes the same
bytes with any Python 3.11+. Standard library only; no network.

Usage: python3 tools/gen_demo_ror.py [--out PATH]
"""

import argparse
import datetime as dt
import json
import math
import pathlib
import sys
from collections import Counter

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOS_DIR = ROOT / "data" / "nos"
DEFAULT_OUT = ROOT / "data" / "demo" / "ror-92nord.ndjson"
MAX_BYTES = 1_500_000
SEED = 0x92_4E_0D

ROR = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"
ADXP = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-"
UCUM = "http://unitsofmeasure.org"
DEMO_FINESS = "urn:atomes:demo:finess"
DEMO_OFFER = "urn:atomes:demo:ror-offre"
DEMO_RPPS = "urn:atomes:demo:rpps"
REFERENCE_DAY = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


class Rng:
    """SplitMix64: small, fast, and identical everywhere."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFFFFFFFFFF

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)

    def random(self):
        return (self.next() >> 11) / float(1 << 53)

    def randint(self, low, high):
        return low + self.next() % (high - low + 1)

    def choice(self, items):
        return items[self.next() % len(items)]

    def chance(self, p):
        return self.random() < p

    def sample(self, items, k):
        pool = list(items)
        out = []
        for _ in range(min(k, len(pool))):
            out.append(pool.pop(self.next() % len(pool)))
        return out


# --- Code systems -----------------------------------------------------------------------------

NOS_FILES = {
    "R66": "CodeSystem-TRE-R66-CategorieEtablissement.json",
    "R211": "CodeSystem-TRE-R211-ActiviteOperationnelle.json",
    "R213": "CodeSystem-TRE-R213-ModePriseEnCharge.json",
    "R227": "CodeSystem-TRE-R227-ChampActivite.json",
    "R239": "CodeSystem-TRE-R239-PublicPrisEnCharge.json",
    "R329": "CodeSystem-TRE-R329-NatureCapacite.json",
    "R330": "CodeSystem-TRE-R330-TypeStatutCapacite.json",
}

# Not in data/nos/: transcribed from ansforge/IG-NOS ig/allNos2 (commit b8b0cc32cc5e…), codes used only.
EXTERNAL = {
    "R200": ("https://mos.esante.gouv.fr/NOS/TRE_R200-CanalCommunication/FHIR/TRE-R200-CanalCommunication",
             {"1": "Téléphone mobile", "2": "Téléphone fixe", "3": "Courrier électronique", "6": "Télécopie"}),
    "R201": ("https://mos.esante.gouv.fr/NOS/TRE_R201-TypeDivisionTerritoriale/FHIR/TRE-R201-TypeDivisionTerritoriale",
             {"3": "Commune"}),
    "R240": ("https://mos.esante.gouv.fr/NOS/TRE_R240-TemporaliteAccueil/FHIR/TRE-R240-TemporaliteAccueil",
             {"01": "Temporaire", "02": "Permanent"}),
    "R283": ("https://mos.esante.gouv.fr/NOS/TRE_R283-NiveauConfidentialite/FHIR/TRE-R283-NiveauConfidentialite",
             {"1": "Accès libre", "2": "Accès restreint", "3": "Accès très restreint"}),
    "R287": ("https://mos.esante.gouv.fr/NOS/TRE_R287-NatureContact/FHIR/TRE-R287-NatureContact",
             {"01": "Accueil", "02": "Prise de rendez-vous", "03": "Admission", "04": "Médical",
              "06": "Standard", "07": "Secrétariat", "13": "Alerte H24"}),
    "R331": ("https://mos.esante.gouv.fr/NOS/TRE_R331-TemporaliteCapacite/FHIR/TRE-R331-TemporaliteCapacite",
             {"01": "Courant"}),
    # Profession (TRE_G15): `10` médecin, as in the Annuaire Santé samples (system by its OID there).
    "G15": ("https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante",
            {"10": "Médecin"}),
}
COMMUNE_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R13-Commune/FHIR/TRE-R13-Commune"


def load_nos():
    tables = {}
    for key, name in NOS_FILES.items():
        data = json.loads((NOS_DIR / name).read_text(encoding="utf-8"))
        concepts = {}
        for c in data["concept"]:
            retired = any(p["code"] == "dateFin" for p in c.get("property", []))
            concepts[c["code"]] = (c["display"], retired)
        tables[key] = (data["url"], concepts)
    for key, (url, codes) in EXTERNAL.items():
        tables[key] = (url, {code: (display, False) for code, display in codes.items()})
    return tables


NOS = load_nos()
USED = Counter()
# Tables whose codes the portal interprets itself (confidentiality, channel, capacity…): their
# codings carry no display, which keeps the file near 1.5 MB.
NO_DISPLAY = {"R200", "R201", "R283", "R329", "R330", "R331"}


def coding(table, code):
    """A Coding of a NOS table; stops the script if the code is unknown or retired."""
    url, concepts = NOS[table]
    if code not in concepts:
        sys.exit(f"gen_demo_ror: code {code!r} is not in TRE_{table}")
    display, retired = concepts[code]
    if retired:
        sys.exit(f"gen_demo_ror: code {code!r} of TRE_{table} is retired ({display})")
    USED[(table, code)] += 1
    if table in NO_DISPLAY:
        return {"system": url, "code": code}
    return {"system": url, "code": code, "display": display}


def concept(table, code):
    return {"coding": [coding(table, code)]}


# --- Territory --------------------------------------------------------------------------------

# INSEE code: (name, postal code, approximate centre lat, lon, weight for site placement).
COMMUNES = {
    "92004": ("Asnières-sur-Seine", "92600", 48.9122, 2.2878, 10),
    "92009": ("Bois-Colombes", "92270", 48.9172, 2.2681, 5),
    "92024": ("Clichy", "92110", 48.9039, 2.3058, 8),
    "92025": ("Colombes", "92700", 48.9233, 2.2531, 10),
    "92036": ("Gennevilliers", "92230", 48.9328, 2.2939, 7),
    "92078": ("Villeneuve-la-Garenne", "92390", 48.9367, 2.3272, 4),
    "92035": ("La Garenne-Colombes", "92250", 48.9061, 2.2447, 2),
    "92026": ("Courbevoie", "92400", 48.8975, 2.2525, 2),
    "92044": ("Levallois-Perret", "92300", 48.8950, 2.2875, 2),
    "92050": ("Nanterre", "92000", 48.8922, 2.2069, 2),
    "92051": ("Neuilly-sur-Seine", "92200", 48.8847, 2.2692, 2),
    "95018": ("Argenteuil", "95100", 48.9475, 2.2481, 2),
    "93070": ("Saint-Ouen-sur-Seine", "93400", 48.9119, 2.3322, 1),
    "75117": ("Paris 17e Arrondissement", "75017", 48.8865, 2.3100, 1),
}
CORE = ["92004", "92009", "92024", "92025", "92036", "92078"]
SCATTER_KM = 1.2

STREETS = [
    ("rue", "Victor Hugo"), ("avenue", "Jean Jaurès"), ("rue", "Gabriel Péri"), ("boulevard", "de la République"),
    ("rue", "Pasteur"), ("avenue", "de la Marne"), ("rue", "Émile Zola"), ("rue", "des Bourguignons"),
    ("avenue", "Henri Barbusse"), ("rue", "du Général Leclerc"), ("rue", "Jules Ferry"), ("place", "de la Liberté"),
    ("rue", "Paul Vaillant-Couturier"), ("rue", "de l'Église"), ("avenue", "des Grésillons"),
    ("rue", "Anatole France"),
    ("rue", "des Champs-Philippe"), ("boulevard", "Gallieni"), ("rue", "Condorcet"), ("allée", "des Tilleuls"),
    ("rue", "Louis Blanc"), ("avenue", "de Verdun"), ("rue", "Danton"), ("rue", "du Château"), 
    ("rue", "Marceau"), ("avenue", "Aristide Briand"), ("rue", "Voltaire"), ("chemin", "des Vignes"),
]

FIRST_NAMES = ["Camille", "Nadia", "Thomas", "Claire", "Karim", "Sophie", "Julien", "Aïcha", "Hélène", "Mehdi",
               "Laure", "Antoine", "Fatou", "Marc", "Élodie", "Yann", "Inès", "Pierre", "Samia", "Lucie"]
LAST_NAMES = ["Morel", "Benali", "Lefèvre", "Garnier", "Diallo", "Rousseau", "Nguyen", "Faure", "Haddad", "Mercier",
              "Lambert", "Chevalier", "Traoré", "Perrin", "Bonnet", "Marchand", "Da Silva", "Roux", "Kaci", "Blanc"]


# --- Offer catalogue --------------------------------------------------------------------------

def offer(name, champ, activities, modes, publics=("07",), ages=(0, 120), extra=(), zone=0, hours="office",
          beds=None, sensitive=False, contacts="standard"):
    """One offer: champ d'activité (R227), activités (R211), modes (R213), publics (R239), ages,
    extra characteristics ((table, code)…), zone = number of communes served at home, hours,
    beds = (nature R329, low, high) when the offer has its own capacity, contacts profile."""
    return dict(name=name, champ=champ, activities=activities, modes=modes, publics=publics, ages=ages,
                extra=extra, zone=zone, hours=hours, beds=beds, sensitive=sensitive, contacts=contacts)


PERMANENT = ("R240", "02")
TEMPORARY = ("R240", "01")

HOSPITAL_OFFERS = [
    ("Pôle urgences", [
        offer("Urgences adultes", "01", ["157"], ["33"], ages=(15, 120), hours="h24", contacts="hospital"),
        offer("Urgences pédiatriques", "01", ["249"], ["33"], ages=(0, 17), hours="h24", contacts="hospital"),
    ]),
    ("Pôle médecine", [
        offer("Médecine polyvalente - hospitalisation complète", "01", ["083"], ["28"], ages=(18, 120),
              hours="h24", beds=("01", 24, 40)),
        offer("Cardiologie - consultations", "01", ["013"], ["32"], ages=(16, 120)),
        offer("Diabétologie - consultations et éducation thérapeutique", "01", ["039", "336"], ["32"],
              ages=(16, 120)),
        offer("Permanence d'accès aux soins de santé (PASS)", "01", ["437"], ["17"], publics=("06",),
              ages=(16, 120)),
    ]),
    ("Pôle gériatrie", [
        offer("Court séjour gériatrique", "01", ["491"], ["28"], publics=("01",), ages=(75, 120), hours="h24",
              beds=("01", 20, 30)),
        offer("Consultation mémoire", "01", ["452", "050"], ["32"], publics=("01",), ages=(60, 120)),
        offer("Équipe mobile de gériatrie", "01", ["050"], ["53"], publics=("01",), ages=(75, 120), zone=4),
        offer("Soins médicaux et de réadaptation gériatriques", "02", ["241"], ["28"], publics=("01",),
              ages=(75, 120), hours="h24", beds=("01", 25, 35)),
    ]),
    ("Pôle soins palliatifs", [
        offer("Lits identifiés de soins palliatifs", "01", ["076"], ["28"], ages=(18, 120), hours="h24",
              beds=("01", 4, 10)),
        offer("Équipe mobile de soins palliatifs", "01", ["170"], ["53"], ages=(18, 120), zone=4),
    ]),
]

PSY_HOSPITAL_OFFERS = [
    ("Pôle psychiatrie adulte", [
        offer("Psychiatrie adulte - hospitalisation complète", "03", ["229"], ["28"], ages=(18, 120), hours="h24",
              beds=("01", 25, 40), contacts="restricted"),
        offer("Psychiatrie adulte - hôpital de jour", "03", ["229", "231"], ["29"], ages=(18, 120),
              beds=("02", 15, 25)),
        offer("Urgences et crise psychiatriques", "03", ["158"], ["33"], ages=(16, 120), hours="h24",
              contacts="hospital"),
        offer("Unité de soins intensifs psychiatriques", "03", ["355"], ["28"], ages=(18, 65), hours="h24",
              beds=("01", 8, 12), sensitive=True, contacts="restricted"),
    ]),
    ("Pôle pédopsychiatrie", [
        offer("Pédopsychiatrie - hôpital de jour", "03", ["227"], ["29"], ages=(3, 12), beds=("02", 10, 15)),
        offer("Psychiatrie de l'adolescent - hospitalisation", "03", ["228"], ["28"], ages=(12, 18), hours="h24",
              beds=("01", 10, 14), contacts="restricted"),
        offer("Psychiatrie périnatale - consultations", "03", ["230"], ["32"], ages=(0, 45)),
    ]),
    ("Pôle addictologie", [
        offer("Addictologie - consultations hospitalières", "01", ["404", "003", "139"], ["32"], publics=("04",),
              ages=(16, 120)),
    ]),
]

EHPAD_NAMES = [
    "EHPAD Les Tilleuls", "Résidence Les Marronniers", "EHPAD Le Jardin des Lilas", "Résidence Arc-en-Ciel",
    "EHPAD Les Glycines", "EHPAD La Roseraie", "EHPAD Les Cèdres", "Résidence Les Hortensias",
    "EHPAD Le Clos Fleuri", "EHPAD Villa des Acacias", "Résidence Les Jardins de la Seine", "EHPAD Les Peupliers",
    "Résidence Le Parc", "EHPAD Les Charmilles", "EHPAD Les Magnolias", "Résidence Les Iris", "EHPAD L'Orangerie",
    "EHPAD Les Bruyères", "Résidence Les Lauriers", "EHPAD Le Belvédère", "Résidence Les Camélias",
    "EHPAD Les Saules", "Résidence Les Coquelicots", "EHPAD Les Mimosas",
]


def ehpad_offers(rng):
    offers = [offer("Hébergement permanent", "04", ["293", "285"], ["46"], publics=("01",), ages=(60, 120),
                    extra=(PERMANENT,), hours="h24", beds=("02", 60, 110))]
    if rng.chance(0.7):
        offers.append(offer("Hébergement temporaire", "04", ["293", "393"], ["46"], publics=("01",), ages=(60, 120),
                            extra=(TEMPORARY,), hours="h24", beds=("02", 2, 8)))
    unit = rng.choice(["alz", "alz", "uhr", "pasa", "pasa", None])
    if unit == "alz":
        offers.append(offer("Unité de vie protégée Alzheimer", "04", ["306", "293"], ["46"], publics=("01",),
                            ages=(60, 120), extra=(PERMANENT,), hours="h24", beds=("02", 12, 14)))
    elif unit == "uhr":
        offers.append(offer("Unité d'hébergement renforcée (UHR)", "04", ["306", "289"], ["46"], publics=("01",),
                            ages=(60, 120), extra=(PERMANENT,), hours="h24", beds=("02", 12, 14)))
    elif unit == "pasa":
        offers.append(offer("Pôle d'activités et de soins adaptés (PASA)", "04", ["306", "313"], ["47"],
                            publics=("01",), ages=(60, 120), beds=("02", 12, 14)))
    if rng.chance(0.3):
        offers.append(offer("Accueil de jour", "04", ["306", "325"], ["47"], publics=("01",), ages=(60, 120),
                            beds=("02", 6, 12)))
    return offers


def site_kinds():
    """Kind → (count, R66 category, name pattern, offers(rng, commune name) → list)."""
    one = lambda *offers: (lambda rng, town: list(offers))  # noqa: E731
    return {
        "ssiad": (8, "354", "SSIAD {org} - {town}", lambda rng, town: [
            offer("Soins infirmiers à domicile - personnes âgées", "04", ["287", "288"], ["49"], publics=("01",),
                  ages=(60, 120), zone=3, beds=("02", 40, 90)),
        ] + ([offer("Soins infirmiers à domicile - personnes handicapées", "04", ["287", "288"], ["49"],
                    publics=("02",), ages=(18, 59), zone=3, beds=("02", 8, 15))] if rng.chance(0.6) else [])),
        "spasad": (3, "209", "SPASAD {org} - {town}", one(
            offer("Aide et soins à domicile", "04", ["287", "288", "293", "299"], ["49"], publics=("01", "02"),
                  ages=(18, 120), zone=4, beds=("02", 30, 60)))),
        "saad": (8, "460", "Service d'aide à domicile {org} - {town}", lambda rng, town: [
            offer("Aide à domicile", "04", ["293", "299", "298"], ["49"],
                  publics=("01", "02") if rng.chance(0.6) else ("01",),
                  ages=(18, 120) if rng.chance(0.6) else (60, 120), zone=rng.randint(2, 5), hours="extended"),
        ]),
        "had": (2, "127", "Hospitalisation à domicile {org}", one(
            offer("Hospitalisation à domicile", "01", ["285", "170"], ["31"], ages=(0, 120), zone=8, hours="h24",
                  beds=("02", 40, 80), contacts="hospital"),
            offer("Hospitalisation à domicile en établissement médico-social", "01", ["285"], ["31"],
                  publics=("01", "02"), ages=(18, 120), zone=8, hours="h24"))),
        "pmi": (11, "223", "Centre de PMI {street}", lambda rng, town: [
            offer("Consultations de protection maternelle et infantile", "05", ["118"], ["32"], ages=(0, 6)),
        ] + ([offer("Suivi de grossesse et périnatalité", "05", ["282"], ["32"], ages=(12, 50))]
             if rng.chance(0.4) else [])),
        "cmp_adultes": (8, "156", "Centre médico-psychologique adultes {de_town}", lambda rng, town: [
            offer("Consultations psychiatriques adultes", "03", ["229", "289"], ["32"], ages=(18, 120),
                  contacts="restricted"),
        ] + ([offer("Équipe mobile psychiatrie précarité", "03", ["229"], ["11"], publics=("06",), ages=(18, 120),
                    zone=3)] if rng.chance(0.3) else [])),
        "cmp_enfants": (5, "156", "Centre médico-psychologique enfants et adolescents {de_town}", lambda rng, town: [
            offer("Consultations de pédopsychiatrie", "03", ["227", "289"], ["32"], ages=(0, 17)),
        ] + ([offer("Psychiatrie de l'adolescent - consultations", "03", ["228"], ["32"], ages=(12, 20))]
             if rng.chance(0.5) else [])),
        "cattp": (4, "425", "CATTP {town}", one(
            offer("Centre d'accueil thérapeutique à temps partiel", "03", ["229", "231"], ["42"], ages=(18, 120)))),
        "cmpp": (4, "189", "Centre médico-psycho-pédagogique {de_town}", one(
            offer("Consultations et rééducations (CMPP)", "04", ["289", "290", "448"], ["32"], ages=(0, 20)))),
        "csapa": (4, "197", "CSAPA {org} - {town}", lambda rng, town: [
            offer("Accompagnement en addictologie", "04", ["404", "003", "139"], ["32"], publics=("04",),
                  ages=(12, 120)),
            offer("Réduction des risques et consultations jeunes consommateurs", "04", ["450", "001"], ["32"],
                  publics=("04",), ages=(12, 25)),
        ]),
        "ime": (4, "183", "IME {name}", one(
            offer("Externat médico-éducatif", "04", ["300", "293", "290"], ["47"], publics=("02",), ages=(6, 20),
                  beds=("02", 30, 60)),
            offer("Internat de semaine", "04", ["293", "300"], ["46"], publics=("02",), ages=(6, 20), hours="h24",
                  beds=("02", 8, 16)))),
        "esat": (4, "246", "ESAT {name}", one(
            offer("Travail protégé et accompagnement professionnel", "04", ["304", "305"], ["47"], publics=("02",),
                  ages=(18, 62), beds=("02", 50, 110)))),
        "mas": (3, "255", "Maison d'accueil spécialisée {name}", one(
            offer("Hébergement en maison d'accueil spécialisée", "04", ["293", "285", "306"], ["46"],
                  publics=("02",), ages=(20, 120), extra=(PERMANENT,), hours="h24", beds=("02", 30, 50)))),
        "eam": (3, "448", "Foyer d'accueil médicalisé {name}", one(
            offer("Hébergement médicalisé pour adultes handicapés", "04", ["293", "285"], ["46"],
                  publics=("02", "05"), ages=(20, 120), extra=(PERMANENT,), hours="h24", beds=("02", 25, 45)))),
        "eanm": (2, "449", "Foyer de vie {name}", one(
            offer("Foyer de vie - hébergement", "04", ["293", "313", "312"], ["46"], publics=("02",), ages=(20, 120),
                  extra=(PERMANENT,), hours="h24", beds=("02", 20, 40)))),
        "savs": (3, "446", "SAVS {org} - {town}", one(
            offer("Accompagnement à la vie sociale", "04", ["298", "312", "317"], ["49"], publics=("02",),
                  ages=(18, 120), zone=3))),
        "samsah": (2, "445", "SAMSAH {org}", one(
            offer("Accompagnement médico-social adultes handicapés", "04", ["285", "293", "289"], ["49"],
                  publics=("02",), ages=(18, 120), zone=4))),
        "camsp": (2, "190", "CAMSP {town}", one(
            offer("Dépistage et accompagnement précoce", "04", ["448", "493"], ["32"], publics=("02",),
                  ages=(0, 6)))),
        "msp": (12, "603", "Maison de santé pluriprofessionnelle {street}", lambda rng, town: [
            offer("Médecine générale", "05", ["437"], ["32"], ages=(0, 120), hours="extended"),
        ] + ([offer("Soins non programmés", "05", ["475", "437"], ["56"], ages=(0, 120), hours="extended")]
             if rng.chance(0.35) else [])
          + ([offer("Éducation thérapeutique du patient", "05", ["336"], ["42"], ages=(18, 120))]
             if rng.chance(0.1) else [])),
        "cds": (10, "124", "Centre de santé {street}", lambda rng, town: [
            offer("Médecine générale", "05", ["437"], ["32"], ages=(0, 120), hours="extended"),
        ] + ([] if rng.chance(0.5) else [
            rng.choice([
                offer("Soins dentaires", "05", ["441"], ["32"], ages=(3, 120)),
                offer("Gynécologie médicale", "05", ["053"], ["32"], ages=(12, 120)),
                offer("Soins infirmiers au centre", "05", ["287"], ["20"], ages=(0, 120)),
            ]),
        ])),
        "ssr": (3, "109", "Clinique de réadaptation {name}", one(
            offer("Réadaptation polyvalente - hospitalisation complète", "02", ["172"], ["28"], ages=(18, 120),
                  hours="h24", beds=("01", 40, 80)),
            offer("Réadaptation locomotrice - hôpital de jour", "02", ["233"], ["29"], ages=(18, 120),
                  beds=("02", 10, 20)))),
        "accueil_jour": (3, "207", "Accueil de jour {name}", one(
            offer("Accueil de jour Alzheimer", "04", ["306", "325"], ["47"], publics=("01",), ages=(60, 120),
                  beds=("02", 10, 15)))),
        "repit": (2, "207", "Plateforme d'accompagnement et de répit {de_town}", one(
            offer("Soutien et répit des aidants", "04", ["325", "326"], ["54"], publics=("01",), ages=(18, 120),
                  zone=5),
            offer("Relayage à domicile", "04", ["394"], ["49"], publics=("01",), ages=(60, 120), zone=5))),
        "ra": (4, "202", "Résidence autonomie {name}", one(
            offer("Logement en résidence autonomie", "04", ["298", "312"], ["46"], publics=("03",), ages=(60, 120),
                  extra=(PERMANENT,), hours="h24", beds=("02", 40, 80)))),
        "lhss": (1, "180", "Lits halte soins santé {de_town}", one(
            offer("Lits halte soins santé", "04", ["285", "511"], ["46"], publics=("06",), ages=(18, 120),
                  hours="h24", beds=("01", 8, 15)))),
        "victimes": (1, "124", "Centre d'accueil des victimes {de_town}", one(
            offer("Accueil et orientation des victimes de violences sexuelles", "05", ["512"], ["32"],
                  ages=(0, 120), sensitive=True, contacts="restricted"))),
    }


ORG_NAMES = ["Aide et Présence", "Horizons 92", "Trait d'Union", "Seine Solidarités", "Les Boucles",
             "Entraide Nord 92", "Passerelles", "Vivre Chez Soi", "Avenir Santé", "Relais Familles"]
PLACE_NAMES = ["Les Peupliers", "Le Moulin", "La Passerelle", "L'Envol", "Les Lucioles", "Le Phare", "Les Alizés",
               "La Rose des Vents", "Les Sources", "Le Pré Vert", "Les Grands Chênes", "L'Étoile"]

# One forensic unit (UMJ) for the territory, a sensitive unit.
FORENSIC = ("Unité médico-judiciaire", [
    offer("Unité médico-judiciaire", "01", ["152"], ["32"], hours="h24", sensitive=True, contacts="restricted"),
])

HOSPITALS = [
    ("Centre hospitalier des Boucles de Seine", "355", "92025", HOSPITAL_OFFERS + [FORENSIC]),
    ("Centre hospitalier Nord-Seine", "355", "92024", HOSPITAL_OFFERS),
    ("Hôpital intercommunal Argenteuil-Seine", "355", "95018", HOSPITAL_OFFERS[:2]),
    ("Centre hospitalier spécialisé Les Grands Prés", "292", "92036", PSY_HOSPITAL_OFFERS),
]


# --- Builders ---------------------------------------------------------------------------------

class Builder:
    def __init__(self, rng):
        self.rng = rng
        self.resources = []
        self.counters = Counter()
        self.phones = set()
        self.offer_kinds = Counter()
        self.sites = 0

    def next_id(self, prefix):
        self.counters[prefix] += 1
        return f"demo-{prefix}-{self.counters[prefix]:04d}"

    def timestamp(self, days_back_max, days_back_min=0):
        seconds = self.rng.randint(days_back_min * 86400, days_back_max * 86400)
        return (REFERENCE_DAY - dt.timedelta(seconds=seconds)).isoformat()

    def meta(self):
        return {"lastUpdated": self.timestamp(548)}

    def phone(self, mobile=False):
        while True:
            number = ("063998" if mobile else "019900") + f"{self.rng.randint(0, 9999):04d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def place(self, insee):
        _, _, lat, lon, _ = COMMUNES[insee]
        distance = SCATTER_KM * math.sqrt(self.rng.random())
        angle = 2 * math.pi * self.rng.random()
        dlat = distance * math.cos(angle) / 111.2
        dlon = distance * math.sin(angle) / (111.2 * math.cos(math.radians(lat)))
        return round(lat + dlat, 6), round(lon + dlon, 6)

    def address(self, insee):
        town, postal, _, _, _ = COMMUNES[insee]
        street_type, street_name = self.rng.choice(STREETS)
        number = str(self.rng.randint(1, 180))
        return {
            "line": [f"{number} {street_type} {street_name}"],
            "_line": [{"extension": [
                {"url": ADXP + "houseNumber", "valueString": number},
                {"url": ADXP + "streetNameType", "valueString": street_type},
                {"url": ADXP + "streetNameBase", "valueString": street_name},
            ]}],
            "postalCode": postal,
            "city": town,
        }, street_name

    def organization(self, prefix, name, finess_prefix, category=None, part_of=None, address=None, phone=True):
        oid = self.next_id(prefix)
        resource = {"resourceType": "Organization", "id": oid, "meta": self.meta()}
        if finess_prefix:
            value = f"92D{finess_prefix}{self.counters[prefix]:05d}"
            resource["identifier"] = [{"system": DEMO_FINESS, "value": value}]
        resource["active"] = True
        if category:
            resource["type"] = [concept("R66", category)]
        resource["name"] = name
        if phone:
            resource["telecom"] = [{"system": "phone", "value": self.phone()}]
        if address:
            resource["address"] = [address]
        if part_of:
            resource["partOf"] = {"reference": f"Organization/{part_of}"}
        self.resources.append(resource)
        return oid

    def capacity(self, nature, status, count):
        return {"url": ROR + "ror-location-supported-capacity", "extension": [
            {"url": "capacityType", "valueCodeableConcept": concept("R329", nature)},
            {"url": "capacityStatus", "valueCodeableConcept": concept("R330", status)},
            {"url": "temporalityCapacity", "valueCodeableConcept": concept("R331", "01")},
            {"url": "nbCapacity", "valueInteger": count},
            {"url": "capacityUpdateDate", "valueDateTime": self.timestamp(60)},
        ]}

    def location(self, name, insee, address, position, org_id, beds=None):
        lid = self.next_id("lieu")
        town = COMMUNES[insee][0]
        extensions = [
            {"url": ROR + "ror-commune-cog", "valueCodeableConcept": {"coding": [
                {"system": COMMUNE_SYSTEM, "code": insee, "display": town}]}},
            {"url": ROR + "ror-meta-creation-date", "valueDateTime": self.creation_date()},
        ]
        if beds:
            nature, low, high = beds
            installed = self.rng.randint(low, high)
            available = min(installed, self.rng.randint(0, max(1, installed // 8)))
            extensions.append(self.capacity(nature, "01", installed))
            extensions.append(self.capacity(nature, "02", available))
            if self.rng.chance(0.08):
                extensions.append(self.capacity(nature, "05", self.rng.randint(1, max(1, installed // 10))))
        resource = {
            "resourceType": "Location", "id": lid, "meta": self.meta(), "extension": extensions,
            "status": "active", "name": name, "address": address,
            "position": {"latitude": position[0], "longitude": position[1]},
            "managingOrganization": {"reference": f"Organization/{org_id}"},
        }
        self.resources.append(resource)
        return lid

    def creation_date(self):
        day = dt.date(2019, 1, 1) + dt.timedelta(days=self.rng.randint(0, 5 * 365))
        return f"{day.isoformat()}T10:00:00+01:00"

    def contact(self, purpose, level, channel, value):
        return {"url": ROR + "ror-healthcareservice-contact", "extension": [
            {"url": "purposeContact", "valueCodeableConcept": concept("R287", purpose)},
            {"url": ROR + "ror-confidentiality-level", "valueCodeableConcept": concept("R283", level)},
            {"url": ROR + "ror-healthcareservice-contact-telecom", "extension": [
                {"url": ROR + "ror-telecom-communication-channel", "valueCodeableConcept": concept("R200", channel)},
                {"url": ROR + "ror-telecom-confidentiality-level", "valueCodeableConcept": concept("R283", level)},
                {"url": "telecomAddress", "valueString": value},
            ]},
        ]}

    def contacts(self, profile, slug):
        """A public contact; professionals-only and alert lines where the profile calls for them."""
        if self.rng.chance(0.12) and profile == "standard":
            out = [self.contact("07", "1", "3", f"secretariat.{slug}@demo.invalid")]
        else:
            out = [self.contact("01" if profile != "hospital" else "06", "1", "2", self.phone())]
        if profile in ("hospital", "restricted"):
            out.append(self.contact(self.rng.choice(["04", "03", "07"]), "2", "2", self.phone()))
        if profile == "hospital":
            out.append(self.contact("13", "3", "1", self.phone(mobile=True)))
        return out

    def hours(self, kind):
        if kind == "h24":
            return [{"daysOfWeek": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "allDay": True}]
        if kind == "extended":
            return [{"daysOfWeek": ["mon", "tue", "wed", "thu", "fri"], "availableStartTime": "08:00:00",
                     "availableEndTime": "20:00:00"},
                    {"daysOfWeek": ["sat"], "availableStartTime": "09:00:00", "availableEndTime": "13:00:00"}]
        start = self.rng.choice(["08:30:00", "09:00:00", "09:00:00", "09:30:00"])
        end = self.rng.choice(["17:00:00", "17:30:00", "18:00:00"])
        return [{"daysOfWeek": ["mon", "tue", "wed", "thu", "fri"], "availableStartTime": start,
                 "availableEndTime": end}]

    def zone(self, insee, count):
        near = sorted(COMMUNES, key=lambda c: (c != insee, distance(COMMUNES[insee], COMMUNES[c])))
        out = []
        for code in near[:count]:
            out.append({"url": ROR + "ror-territorial-division", "extension": [
                {"url": "typeTerritorialDivision", "valueCodeableConcept": concept("R201", "3")},
                {"url": "codeTerritorialDivision", "valueCodeableConcept": {"coding": [
                    {"system": COMMUNE_SYSTEM, "code": code, "display": COMMUNES[code][0]}]}},
            ]})
        return out

    def healthcare_service(self, spec, kind, provided_by, location_id, insee, slug):
        hid = self.next_id("offre")
        low, high = spec["ages"]
        patient = [{"url": "supportedPatientInfo", "valueCodeableConcept": concept("R239", p)} for p in spec["publics"]]
        patient.append({"url": "ageRange", "valueRange": {
            "low": {"value": low, "system": UCUM, "code": "a"},
            "high": {"value": high, "system": UCUM, "code": "a"}}})
        extensions = [
            {"url": ROR + "ror-meta-creation-date", "valueDateTime": self.creation_date()},
            {"url": ROR + "ror-healthcareservice-sensitive-unit", "valueBoolean": spec["sensitive"]},
            {"url": ROR + "ror-healthcareservice-patient-type", "extension": patient},
        ]
        if spec["zone"]:
            extensions.extend(self.zone(insee, spec["zone"]))
        extensions.extend(self.contacts(spec["contacts"], slug))
        characteristics = [concept("R213", m) for m in spec["modes"]]
        characteristics.extend(concept(table, code) for table, code in spec["extra"])
        resource = {
            "resourceType": "HealthcareService", "id": hid, "meta": self.meta(),
            "extension": extensions,
            "identifier": [{"system": DEMO_OFFER, "value": f"92D-OFF-{self.counters['offre']:05d}"}],
            "active": True,
            "providedBy": {"reference": f"Organization/{provided_by}"},
            "type": [concept("R227", spec["champ"])],
            "specialty": [concept("R211", a) for a in spec["activities"]],
            "location": [{"reference": f"Location/{location_id}"}],
            "name": spec["name"],
            "characteristic": characteristics,
            "availableTime": self.hours(spec["hours"]),
        }
        self.resources.append(resource)
        self.offer_kinds[kind] += 1
        return hid

    def site(self, kind, name, category, insee, ej, offers, oi_groups=None):
        """One EG with its main Location and its offers; offers with beds get their own Location."""
        self.sites += 1
        address, _ = self.address(insee)
        position = self.place(insee)
        postal = {k: v for k, v in address.items() if k != "_line"}  # street parts on the Location only
        eg = self.organization("eg", name, "0", category=category, part_of=ej, address=postal)
        slug = slugify(name)
        main_beds = None
        if not oi_groups and offers and offers[0]["beds"]:
            main_beds = offers[0]["beds"]
        main_location = self.location(name, insee, address, position, eg, beds=main_beds)
        groups = oi_groups or [(None, offers)]
        created = []
        for group_name, group_offers in groups:
            provider = eg
            if group_name:
                provider = self.organization("oi", f"{group_name} - {name}", None, part_of=eg, phone=False)
            for i, spec in enumerate(group_offers):
                location_id = main_location
                own_unit = spec["beds"] and (oi_groups or i > 0) and spec["modes"][0] in ("28", "13", "29", "46")
                if own_unit:
                    unit_address = {k: v for k, v in address.items() if k != "_line"}
                    location_id = self.location(f"{spec['name']} - {name}", insee, unit_address, position, eg,
                                                beds=spec["beds"])
                created.append(self.healthcare_service(spec, kind, provider, location_id, insee, slug))
        return eg, created


def distance(a, b):
    return math.hypot(a[2] - b[2], (a[3] - b[3]) * math.cos(math.radians(a[2])))


def of_town(town):
    """'de Colombes', 'd'Asnières-sur-Seine'."""
    return f"d'{town}" if town[0] in "AEIOUÉ" else f"de {town}"


def slugify(text):
    table = str.maketrans("àâäéèêëîïôöùûüçœ'", "aaaeeeeiioouuuco-")
    out = "".join(ch if ch.isalnum() else "-" for ch in text.lower().translate(table))
    return "-".join(part for part in out.split("-") if part)[:40]


def pick_commune(rng, core_only=False):
    codes = CORE if core_only else list(COMMUNES)
    weights = [COMMUNES[c][4] for c in codes]
    target = rng.random() * sum(weights)
    for code, weight in zip(codes, weights):
        target -= weight
        if target < 0:
            return code
    return codes[-1]


def build():
    rng = Rng(SEED)
    b = Builder(rng)
    # Hospitals: one EJ each, an EG, internal organizations (pôles) providing the offers.
    hospital_ejs = {}
    for name, category, insee, groups in HOSPITALS:
        hospital_ejs[category] = ej = b.organization("ej", name, "9")
        b.site("hopital", name, category, insee, ej, [], oi_groups=groups)
    # The DAC itself.
    dac_ej = b.organization("ej", "Association de coordination santé Nord 92 (démo)", "9")
    _, _ = b.site("dac", "Dispositif d'appui à la coordination 92 Nord", "606", "92036", dac_ej, [
        offer("Appui à la coordination des parcours complexes", "05", ["335"], ["58"], ages=(0, 120), zone=6),
    ])
    # EHPAD, grouped under a few managing bodies.
    ehpad_ejs = [b.organization("ej", f"{org} (gestionnaire d'EHPAD, démo)", "9")
                 for org in ["Fondation Résidences de Seine", "CCAS intercommunal", "Groupe Âge Serein",
                             "Association Les Jardins d'Automne", "Mutualité Seine Nord"]]
    for name in EHPAD_NAMES:
        insee = pick_commune(rng)
        b.site("ehpad", name, "500", insee, rng.choice(ehpad_ejs), ehpad_offers(rng))
    # Medico-social, ambulatory and psychiatric sites.
    association_ejs = [b.organization("ej", f"Association {org} (démo)", "9") for org in ORG_NAMES]
    psy_ej = hospital_ejs["292"]  # the psychiatric hospital runs the CMP and CATTP
    used_names = set()
    for kind, (count, category, pattern, make) in site_kinds().items():
        for n in range(count):
            # Sectorised public services: one per core commune first, then where the population is.
            sectorised = kind in ("cmp_adultes", "cmp_enfants", "pmi", "cattp")
            insee = CORE[n] if sectorised and n < len(CORE) else pick_commune(rng, core_only=sectorised)
            town = COMMUNES[insee][0]
            _, street = b.address(insee)
            name = pattern.format(town=town, de_town=of_town(town), org=rng.choice(ORG_NAMES),
                                  name=rng.choice(PLACE_NAMES), street=street)
            if name in used_names and town not in name:
                name = f"{name} - {town}"
            if name in used_names:
                name = next(f"{name} - site {p}" for p in rng.sample(PLACE_NAMES, len(PLACE_NAMES))
                            if f"{name} - site {p}" not in used_names)
            used_names.add(name)
            ej = psy_ej if kind in ("cmp_adultes", "cmp_enfants", "cattp") else rng.choice(association_ejs)
            eg, offers = b.site(kind, name, category, insee, ej, make(rng, town))
            if kind in ("msp", "cds"):
                practitioners(b, rng, eg, offers)
    return b


def practitioners(b, rng, eg, offers):
    """One or two general practitioners of an MSP or centre de santé, with their roles."""
    for _ in range(rng.randint(1, 2)):
        pid = b.next_id("ps")
        given, family = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        b.resources.append({
            "resourceType": "Practitioner", "id": pid, "meta": b.meta(),
            "identifier": [{"system": DEMO_RPPS, "value": f"D{rng.randint(0, 9_999_999_999):010d}"}],
            "active": True,
            "name": [{"family": family, "given": [given], "prefix": ["Dr"]}],
        })
        b.resources.append({
            "resourceType": "PractitionerRole", "id": b.next_id("role"), "meta": b.meta(),
            "active": True,
            "practitioner": {"reference": f"Practitioner/{pid}"},
            "organization": {"reference": f"Organization/{eg}"},
            "healthcareService": [{"reference": f"HealthcareService/{offers[0]}"}],
            "code": [concept("G15", "10")],
            "specialty": [concept("R211", "437")],
        })


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    b = build()
    order = {"Organization": 0, "Location": 1, "HealthcareService": 2, "Practitioner": 3, "PractitionerRole": 4}
    resources = sorted(b.resources, key=lambda r: (order[r["resourceType"]], r["id"]))
    text = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in resources)
    data = text.encode("utf-8")
    if len(data) > MAX_BYTES:
        sys.exit(f"gen_demo_ror: {len(data)} bytes, more than {MAX_BYTES}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    types = Counter(r["resourceType"] for r in resources)
    print(f"{args.out}: {len(data)} bytes, {len(resources)} resources, {b.sites} sites")
    for t in order:
        print(f"  {t}: {types[t]}")
    print("  offers by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(b.offer_kinds.items())))
    sensitive = sum(1 for r in resources if r["resourceType"] == "HealthcareService"
                    and any(e.get("valueBoolean") for e in r["extension"]))
    print(f"  sensitive offers: {sensitive}; codes used: {len(USED)}")


if __name__ == "__main__":
    main()
