"""Deterministic synthetic seed tables for benchmarks: a complete seed folder of any size.

``generate(out_dir, triples, seed)`` writes ``tables.csv-metadata.json`` (a copy of the project's) and every
CSV it declares, sized so that the asserted graph the real pipeline builds from them has about ``triples``
triples. ``python -m bench.generate --triples 100000 --out /tmp/x [--seed 1]`` does the same from a shell.

What is generated, and why it looks like the curated seeds
----------------------------------------------------------
The curated graph is small (about 3,000 asserted triples); benchmarks need the same *shape* at 10 to 3,000
times that size, so every row follows the rules of ``seeds/README.md`` and passes the SHACL shapes:

* **Administrative regions** (``gazetteer.csv``, ``coordinates.csv``): a municipality and provinces, prefecture
  cities in provinces, and districts / county-level cities below them. Codes are GB/T 2260-like and nest
  (``PP0000`` > ``PPCC00`` > ``PPCCDD``, a municipality's districts ``PP01DD``), which the code-nesting
  shape checks. As in the real seeds, the gazetteer cites a reference source (no paragraph) and carries
  the only Chinese names; coordinates cite a second reference source. Names are made of pinyin-like
  syllables, and the Chinese name uses the character of each syllable (``Jiangning`` / ``江宁区``); no
  spelling is given twice, so slugs are the lower-cased English name. Other entities have English names
  only (the real seeds take Chinese names from reference sources alone), so each gives the ChineseLabel
  warning, as most real entities do; warnings do not stop a build.
* **Article mentions** (``regions.csv``): articles restate some regions' kind, level and part-of. These rows
  add no triple of their own (the gazetteer said it) but a second citation, as in the real seeds. Informal
  regions (the delta and one "Southern X" per province) come from articles, with ``region_members.csv``.
* **Parks and zones** (``parks.csv``, ``park_roles.csv``): jointly built parks and collaborative zones are
  co-built by two city-level regions of *different* provinces (so neither is part of the other), lie in a
  county of the first builder, and may have a second row adding a second class (as the real seeds do).
* **Agreements** (``agreements.csv``, ``agreement_parties.csv``): always two or three distinct regions;
  construction agreements concern a jointly built park and are signed by its builders.
* **Industries** (``industries.csv``): a SKOS taxonomy, sectors > industries > sub-industries (broader), and
  ``industry_links.csv`` from regions and parks (key / leading / developing / strength industries).
* **Indicators and observations**: a fixed list of indicators with units; observations by region (and park)
  and year, unique per subject / indicator / period, values plausible for the unit (percentages in 0..100,
  amounts never negative), some with change rates and qualifiers, a few spans and months.
* **Sources** (``sources.csv``): synthetic articles ``NNN_<16 hex>.txt`` with publication dates and paragraph
  counts (at most 1,000: the file-name pattern has three digits), plus the two reference sources.

Every row cites an article and a paragraph within that article's ``paragraph_count`` (or a reference source
without paragraph). A date a row states is never after the publication date of the article it cites: the
article is chosen first and the date drawn before its publication. Some facts are restated by a second
article (two rows differing only in the citation); a restatement drops the dates its article could not
know, as curators do. Tables the synthetic data does not use (organisations, people, events, ...) are
written with their header only, which ``kg.build.tables`` reads as an empty table.

Determinism: one ``random.Random(seed)``, no clock, fixed iteration order, ``\\n`` line ends; the same
arguments give byte-identical files. Rows are written to all CSVs as they are made; memory holds the region
layout and the id lists that later rows refer to (O(entities)), never the rows.

Scale and calibration
---------------------
One number, the count of counties/districts ``n``, fixes every other count (``plan_for``); ``estimate``
turns a plan into expected asserted triples with the per-entity constants of ``TRIPLES_PER``, and
``choose_plan`` searches ``n`` for the target. The constants were measured by generating seed folders and
running the real mappings (``kg.build.pipeline.map_seeds``), attributing each asserted triple to the entity kind
of its subject (a region's geometry node counts for the region, the concept schemes and the data set for
the fixed part) and dividing by the number of entities of that kind (see ``calibrate``; the numbers are
recorded beside ``TRIPLES_PER``). Sectors, indicators and reference sources are a fixed part; industries
grow with the square root of ``n`` (real taxonomies are bounded); everything else grows linearly, so
twice the triples is about twice the rows. The capacity of the code scheme (79 province codes, 99 children
per level) allows 764,577 counties, about 53 million triples.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import re
import sys
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
METADATA_FILE = "tables.csv-metadata.json"
METADATA_SOURCE = PROJECT_ROOT / "seeds" / METADATA_FILE

# --- Shape of the data (per county unless said otherwise) ------------------------------------------------------

COUNTIES_PER_PREFECTURE = 6
PREFECTURES_PER_PROVINCE = 10
#: GB/T 2260 province codes are 11..89 (first digit 1-8); 31 first, so the municipality is 310000.
PROVINCE_CODES = tuple(range(31, 90)) + tuple(range(11, 31))
MAX_CHILDREN = 99  # two code digits per level
#: The municipality's 99 districts and 99 counties in each of 99 prefectures of 78 provinces.
MAX_COUNTIES = MAX_CHILDREN + (len(PROVINCE_CODES) - 1) * MAX_CHILDREN * MAX_CHILDREN
PARKS_PER_COUNTY = 0.4
AGREEMENTS_PER_COUNTY = 0.25
#: Industries below the sectors: INDUSTRY_BASE + INDUSTRY_SQRT * sqrt(n).
INDUSTRY_BASE, INDUSTRY_SQRT = 12, 3.0
#: Mean observations per subject, by kind.
OBSERVATIONS_PER = {"province": 12, "municipality": 12, "prefecture-city": 8, "county": 4, "park": 2}
#: One synthetic article per this many counties; the file-name pattern allows 1,000 articles.
COUNTIES_PER_ARTICLE = 10
MAX_ARTICLES = 1000
#: Share of facts a second article restates (two rows that differ only in the citation).
RESTATED = 0.05

# --- Calibration -----------------------------------------------------------------------------------------------

#: Asserted triples per entity, measured with ``calibrate()`` (real mappings over generated folders at
#: 20k, 100k and 400k target triples, seed 1; the three agree within 2 %). "region" covers gazetteer,
#: coordinates (with the geometry node), labels, industry links and memberships of a region; "park" its
#: rows, roles, labels and industry links; "agreement" its parties; "source" an article's register row.
TRIPLES_PER = {
    "region": 10.9,  # measured 10.80 / 10.94 / 10.92
    "park": 10.5,  # 10.55 / 10.57 / 10.46
    "agreement": 8.4,  # 8.43 / 8.34 / 8.37
    "industry": 4.9,  # 4.79 / 4.92 / 4.95 (sectors included)
    "observation": 10.7,  # 10.53 / 10.75 / 10.77 per expected observation
    "article": 9.3,  # 9.23 / 9.30 / 9.30
}
#: Indicators (108), the two reference sources (12), the concept schemes and the data set (7).
FIXED_TRIPLES = 127

# --- Vocabulary ------------------------------------------------------------------------------------------------

#: Pinyin-like syllables and the character each stands for: names are unique numbers in base 64.
SYLLABLES = (
    ("an", "安"),
    ("bai", "白"),
    ("bao", "宝"),
    ("bei", "北"),
    ("bin", "滨"),
    ("chang", "长"),
    ("chen", "辰"),
    ("cheng", "城"),
    ("chong", "崇"),
    ("chun", "春"),
    ("da", "大"),
    ("dan", "丹"),
    ("de", "德"),
    ("dong", "东"),
    ("feng", "丰"),
    ("fu", "富"),
    ("gang", "港"),
    ("gao", "高"),
    ("guang", "广"),
    ("hai", "海"),
    ("han", "汉"),
    ("he", "河"),
    ("heng", "恒"),
    ("hong", "洪"),
    ("hu", "湖"),
    ("hua", "华"),
    ("huai", "淮"),
    ("jia", "嘉"),
    ("jian", "建"),
    ("jiang", "江"),
    ("jin", "金"),
    ("jing", "京"),
    ("kang", "康"),
    ("kun", "昆"),
    ("lan", "兰"),
    ("li", "丽"),
    ("lian", "连"),
    ("lin", "林"),
    ("ling", "陵"),
    ("long", "龙"),
    ("lu", "鹿"),
    ("mei", "梅"),
    ("ming", "明"),
    ("nan", "南"),
    ("ning", "宁"),
    ("ping", "平"),
    ("pu", "浦"),
    ("qi", "启"),
    ("qing", "青"),
    ("rui", "瑞"),
    ("shan", "山"),
    ("sheng", "盛"),
    ("shi", "石"),
    ("song", "松"),
    ("tai", "泰"),
    ("tian", "天"),
    ("tong", "通"),
    ("wen", "文"),
    ("xi", "溪"),
    ("xin", "新"),
    ("xing", "兴"),
    ("yang", "阳"),
    ("yi", "宜"),
    ("yong", "永"),
)
ZH_SUFFIX = {"province": "省", "municipality": "市", "prefecture-city": "市", "county-city": "市", "district": "区"}

SECTORS = (
    "Manufacturing",
    "Information technology",
    "New energy",
    "New materials",
    "Biomedicine",
    "High-end equipment",
    "Modern services",
    "Logistics",
    "Marine economy",
    "Modern agriculture",
)
MODIFIERS = (
    "Advanced",
    "Smart",
    "Green",
    "Digital",
    "Precision",
    "Marine",
    "Biological",
    "Integrated",
    "High-end",
    "Low-carbon",
    "Intelligent",
    "Modern",
    "Specialty",
    "Composite",
    "Functional",
    "Clean",
    "Industrial",
    "Medical",
    "Automotive",
    "Aerospace",
)
NOUNS = (
    "materials",
    "equipment",
    "textiles",
    "chemicals",
    "electronics",
    "software",
    "batteries",
    "sensors",
    "robotics",
    "logistics",
    "pharmaceuticals",
    "instruments",
    "machinery",
    "semiconductors",
    "shipbuilding",
    "photovoltaics",
    "agriculture",
    "food processing",
    "finance",
    "tourism",
)

#: (slug, English name, unit, definition, also measured for parks)
INDICATORS = (
    ("gdp", "GDP", "CNY", "gross domestic product (economic output) of a place", False),
    ("gdp-per-capita", "GDP per capita", "CNY", "GDP divided by resident population", False),
    ("resident-population", "Resident population", "person", "people living in a place at year end", False),
    (
        "rd-investment-share-of-gdp",
        "R&D investment as share of GDP",
        "percent",
        "research and development spending divided by GDP",
        False,
    ),
    (
        "high-tech-industry-output-share",
        "High-tech industry share of above-scale industrial output",
        "percent",
        "output of high-tech industries over output of firms above designated size",
        True,
    ),
    ("urbanisation-rate", "Urbanisation rate", "percent", "urban residents over resident population", False),
    (
        "industrial-output",
        "Industrial output above designated size",
        "CNY",
        "output of industrial firms above designated size",
        True,
    ),
    ("retail-sales", "Retail sales of consumer goods", "CNY", "total retail sales of consumer goods", False),
    ("fiscal-revenue", "General public budget revenue", "CNY", "revenue of the general public budget", False),
    (
        "foreign-direct-investment",
        "Actually utilised foreign investment",
        "USD",
        "foreign direct investment actually used",
        True,
    ),
    ("exports", "Exports", "USD", "value of goods exported", True),
    ("container-throughput", "Container throughput", "TEU", "containers handled by ports", False),
    ("cargo-throughput", "Cargo throughput", "tonne", "cargo handled by ports", False),
    ("high-tech-enterprises", "High-tech enterprises", "count", "enterprises certified as high-tech", True),
    ("patents-granted", "Invention patents granted", "count", "invention patents granted in the year", True),
    ("new-energy-vehicles", "New energy vehicles produced", "vehicle", "new energy vehicles made in the year", True),
    ("total-investment", "Total investment", "CNY", "investment signed or made", True),
    ("built-up-area", "Built-up area", "km2", "area of land built up", True),
)
#: Log10 range of a value in each unit (percent: a plain range).
VALUE_RANGE = {
    "CNY": (8.0, 12.5),
    "USD": (6.0, 10.5),
    "person": (4.5, 7.3),
    "TEU": (3.0, 7.5),
    "tonne": (5.0, 9.0),
    "count": (0.5, 4.0),
    "vehicle": (2.0, 6.0),
    "km2": (0.5, 3.0),
    "percent": (0.5, 95.0),
}

PUBLISHERS = (
    "Delta Economic Herald",
    "Riverside Daily",
    "Regional Integration Review",
    "Coastal Business News",
    "Municipal news portal",
)
TITLES = (
    "{a} and {b} deepen cross-regional cooperation",
    "{a} speeds up integration into the delta",
    "Parks built jointly by {a} and {b} enter a new stage",
    "{a} reports steady growth in {year}",
    "{a} signs agreements with {b} on industrial cooperation",
)
PURPOSES = (
    "joint building of the park",
    "sci-tech innovation cooperation",
    "industrial transfer and upgrading",
    "port and logistics cooperation",
    "shared public services",
    "talent exchange",
    "green development of the river banks",
)
#: Curator's notes, by what they can be about.
NOTES = {
    "region": ("named in passing", "name as the article spells it"),
    "park": ("status as of the article's date", "area as the article rounds it", "name as the article spells it"),
    "industry": ("named in a list of industries",),
    "observation": ("figure rounded in the article", "figure from a chart in the article"),
    "no-year": ("signed on this day; the year is not stated",),
}
PARK_KINDS = (
    ("JointlyBuiltPark", 0.35),
    ("IndustrialPark", 0.20),
    ("HighTechZone", 0.15),
    ("DevelopmentZone", 0.15),
    ("ScienceCity", 0.07),
    ("CollaborativeZone", 0.08),
)
JOINT_KINDS = {"JointlyBuiltPark", "CollaborativeZone", "ScienceCity"}
AGREEMENT_PHRASES = (
    ("StrategicCooperationAgreement", "strategic cooperation agreement"),
    ("CooperationAgreement", "cooperation agreement"),
    ("Agreement", "framework agreement"),
)
REF_GAZETTEER = "ref-synthetic-gazetteer"
REF_COORDINATES = "ref-synthetic-coordinates"
FIRST_PUBLISHED, LAST_PUBLISHED = date(2016, 1, 1), date(2025, 12, 31)


# --- Plan: how many of each -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    counties: int  # districts and county-level cities, the municipality's districts included
    provinces: int  # province-level units, the municipality included
    municipality_districts: int
    prefectures_per_province: int
    parks: int
    agreements: int
    industries: int  # below the sectors
    articles: int

    @property
    def prefectures(self) -> int:
        return (self.provinces - 1) * self.prefectures_per_province

    def observations(self) -> float:
        """Expected observations (the generator draws each subject's count around the mean)."""
        return (
            (self.provinces * OBSERVATIONS_PER["province"])
            + self.prefectures * OBSERVATIONS_PER["prefecture-city"]
            + self.counties * OBSERVATIONS_PER["county"]
            + self.parks * OBSERVATIONS_PER["park"]
        )


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def plan_for(counties: int) -> Plan:
    """Every count, from the number of counties (the lowest level of the region hierarchy)."""
    if counties < 2:
        raise ValueError("at least 2 counties")
    provinces = _clamp(
        math.ceil(counties / (COUNTIES_PER_PREFECTURE * PREFECTURES_PER_PROVINCE)), 2, len(PROVINCE_CODES)
    )
    districts = _clamp(round(counties / provinces), 1, MAX_CHILDREN)
    rest = counties - districts
    per_province = _clamp(math.ceil(rest / ((provinces - 1) * COUNTIES_PER_PREFECTURE)), 1, MAX_CHILDREN)
    if math.ceil(rest / ((provinces - 1) * per_province)) > MAX_CHILDREN:
        raise ValueError(f"{counties} counties exceed the capacity of the GB/T 2260 code scheme")
    return Plan(
        counties=counties,
        provinces=provinces,
        municipality_districts=districts,
        prefectures_per_province=per_province,
        parks=max(2, round(counties * PARKS_PER_COUNTY)),
        agreements=max(2, round(counties * AGREEMENTS_PER_COUNTY)),
        industries=INDUSTRY_BASE + round(INDUSTRY_SQRT * math.sqrt(counties)),
        articles=_clamp(math.ceil(counties / COUNTIES_PER_ARTICLE), 3, MAX_ARTICLES),
    )


def estimate(plan: Plan) -> float:
    """Expected asserted triples of a plan (calibrated constants, see the module docstring)."""
    regions = plan.provinces + plan.prefectures + plan.counties
    return (
        FIXED_TRIPLES
        + regions * TRIPLES_PER["region"]
        + plan.parks * TRIPLES_PER["park"]
        + plan.agreements * TRIPLES_PER["agreement"]
        + (plan.industries + len(SECTORS)) * TRIPLES_PER["industry"]
        + plan.observations() * TRIPLES_PER["observation"]
        + plan.articles * TRIPLES_PER["article"]
    )


def choose_plan(triples: int) -> Plan:
    """The plan whose estimate is nearest ``triples`` (binary search; the estimate grows with n)."""
    if triples < 1000:
        raise ValueError("the smallest benchmark graph is about 1,000 triples")
    if estimate(plan_for(MAX_COUNTIES)) < triples:
        raise ValueError(
            f"{triples} triples exceed the capacity of the GB/T 2260 code scheme "
            f"(about {estimate(plan_for(MAX_COUNTIES)):.0f})"
        )
    low, high = 2, 2
    while estimate(plan_for(high)) < triples:
        low, high = high, min(high * 2, MAX_COUNTIES)
    while low < high:
        middle = (low + high) // 2
        if estimate(plan_for(middle)) < triples:
            low = middle + 1
        else:
            high = middle
    candidates = [plan_for(n) for n in (max(2, low - 1), low)]
    return min(candidates, key=lambda p: abs(estimate(p) - triples))


# --- Helpers ---------------------------------------------------------------------------------------------------


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Namer:
    """Unique place names: entity number g is written in base 64 with the syllable table, shuffled per seed
    and spread by a multiplicative bijection so that consecutive entities do not look alike. Syllables do not
    decode uniquely ("li"+"an" is "lian"), so a spelling already given is skipped (a set of the names)."""

    SPREAD = 1_000_003  # prime, so coprime with every block size 63 * 64**k

    def __init__(self, rng: random.Random):
        self.table = list(SYLLABLES)
        rng.shuffle(self.table)
        self.next = 0
        self.given: set[str] = set()

    def _spell(self, number: int) -> tuple[str, str, str]:
        width = 2
        while number >= 63 * 64 ** (width - 1):  # numbers of `width` digits with a non-zero first digit
            number -= 63 * 64 ** (width - 1)
            width += 1
        value = 64 ** (width - 1) + (number * self.SPREAD) % (63 * 64 ** (width - 1))
        digits = []
        while value:
            value, digit = divmod(value, 64)
            digits.append(digit)
        digits.reverse()
        syllables = [self.table[d] for d in digits]
        return (
            "".join(s for s, _ in syllables).capitalize(),
            "".join(c for _, c in syllables),
            syllables[0][0].capitalize(),
        )

    def new(self) -> tuple[str, str, str]:
        """(English name, Chinese name without suffix, first syllable as a short form)."""
        while True:
            english, chinese, short = self._spell(self.next)
            self.next += 1
            if english not in self.given:
                self.given.add(english)
                return english, chinese, short


class Unique:
    """Slugs made unique with a counter, the way the seeds disambiguate ("... No. 2")."""

    def __init__(self):
        self.seen: dict[str, int] = {}

    def name(self, name: str) -> str:
        count = self.seen.get(slugify(name), 0) + 1
        self.seen[slugify(name)] = count
        return name if count == 1 else f"{name} No. {count}"


def _day(rng: random.Random, low: date, high: date) -> date:
    return date.fromordinal(rng.randint(low.toordinal(), high.toordinal()))


def _precision(rng: random.Random, day: date, day_share: float = 0.7, month_share: float = 0.2) -> str:
    """A date at the precision a source gives it; its earliest day is never after ``day``."""
    draw = rng.random()
    if draw < day_share:
        return day.isoformat()
    if draw < day_share + month_share:
        return day.isoformat()[:7]
    return str(day.year)


def _earliest(text: str) -> date | None:
    if not text or text.startswith("--"):
        return None
    parts = [int(p) for p in text.split("-")]
    return date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)


@dataclass
class Region:
    id: str
    name_en: str
    name_zh: str
    short: str  # its first syllable, a one-syllable short form like "Su" for Suzhou
    level: str
    parent: int  # index in the region list, -1 for province-level units
    province: int  # index of its province-level unit
    code: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Article:
    file: str
    published: date  # the earliest day the publication date can mean
    paragraphs: int
    to_the_day: bool  # the publication date is a day (not a month or a year)


class Tables:
    """One CSV writer per table of the metadata, with the declared header; rows are dicts by column."""

    def __init__(self, out_dir: Path, metadata: dict, stack: ExitStack):
        self.headers: dict[str, list[str]] = {}
        self.known: dict[str, set[str]] = {}
        self.writers = {}
        self.rows: dict[str, int] = {}
        for table in metadata["tables"]:
            name = table["url"].removesuffix(".csv")
            header = [column["name"] for column in table["tableSchema"]["columns"]]
            handle = stack.enter_context((out_dir / table["url"]).open("w", encoding="utf-8", newline=""))
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            self.headers[name], self.writers[name], self.rows[name] = header, writer, 0
            self.known[name] = set(header)

    def write(self, table: str, row: dict[str, object]) -> None:
        if not self.known[table].issuperset(row):
            raise KeyError(f"{table}.csv has no column {', '.join(sorted(row.keys() - self.known[table]))}")
        self.writers[table].writerow([row.get(c) for c in self.headers[table]])  # csv writes None as ""
        self.rows[table] += 1


# --- The generator ---------------------------------------------------------------------------------------------


class _Generator:
    def __init__(self, plan: Plan, rng: random.Random, tables: Tables):
        self.plan, self.rng, self.out = plan, rng, tables
        self.namer = Namer(rng)
        self.regions: list[Region] = []
        self.children: dict[int, list[int]] = {}
        self.city_units: list[int] = []  # prefectures and the municipality: who builds and signs
        self.articles: list[Article] = []
        self.industries: list[str] = []
        self.parks: list[tuple[str, str]] = []  # (id, slug)
        self.jointly_built: list[tuple[str, str, int, int]] = []  # (id, name, builder a, builder b)
        self.entities = {"regions": 0, "parks": 0, "agreements": 0, "industries": 0, "observations": 0, "articles": 0}

    # -- citations

    def article(self) -> Article:
        return self.articles[self.rng.randrange(len(self.articles))]

    def cite(self, row: dict, article: Article | None = None) -> dict:
        article = article or self.article()
        row["source"], row["paragraph"] = article.file, self.rng.randint(1, article.paragraphs)
        return row

    def note(self, row: dict, about: str, share: float = 0.03) -> dict:
        """Sometimes a curator's note: each distinct note is a triple, as in the real seeds."""
        if self.rng.random() < share:
            row["note"] = self.rng.choice(NOTES[about])
        return row

    def write(self, table: str, row: dict, dated: tuple[str, ...] = (), keep_dates: bool = False) -> None:
        """Write a fact, and sometimes a restatement by another article. A restatement drops the dates its
        article could not know (``keep_dates``: skip the restatement instead, for dates that identify it)."""
        self.out.write(table, row)
        if row.get("source", "").startswith("ref-") or self.rng.random() >= RESTATED:
            return
        article = self.article()
        again = self.cite(dict(row), article)
        late = [c for c in dated if (_earliest(row.get(c) or "") or date.min) > article.published]
        if late and keep_dates:
            return
        for column in late:
            again[column] = ""
        if dated and "date_derived" in again:
            again["date_derived"] = ""  # derived from the first article's date, not this one's
        if again["source"] == row["source"] and again["paragraph"] == row["paragraph"]:
            return
        self.out.write(table, again)

    # -- sources

    def sources(self) -> None:
        rng, plan = self.rng, self.plan
        for i in range(plan.articles):
            published = _day(rng, FIRST_PUBLISHED, LAST_PUBLISHED)
            text = _precision(rng, published, 0.92, 0.06)  # most articles are dated to the day
            article = Article(
                f"{i:03d}_{rng.getrandbits(64):016x}.txt", _earliest(text), rng.randint(8, 48), len(text) == 10
            )
            self.articles.append(article)
            a, b = (self.regions[rng.randrange(len(self.regions))].name_en for _ in range(2))
            self.out.write(
                "sources",
                {
                    "id": article.file,
                    "kind": "article",
                    "title": rng.choice(TITLES).format(a=a, b=b, year=article.published.year - 1),
                    "publisher": rng.choice(PUBLISHERS),
                    "published": text,
                    "published_time": f"{rng.randint(6, 22):02d}:{rng.randint(0, 59):02d}"
                    if rng.random() < 0.3
                    else "",
                    "paragraph_count": article.paragraphs,
                    "language": "en",
                },
            )
        self.out.write(
            "sources",
            {
                "id": REF_GAZETTEER,
                "kind": "reference",
                "language": "zh",
                "title": "Synthetic gazetteer of administrative divisions with GB/T 2260-like codes",
                "publisher": "YRD knowledge graph benchmarks",
                "note": "Names, codes and levels; synthetic",
            },
        )
        self.out.write(
            "sources",
            {
                "id": REF_COORDINATES,
                "kind": "reference",
                "language": "en",
                "title": "Synthetic coordinates of seats of government",
                "publisher": "YRD knowledge graph benchmarks",
                "note": "Degrees, WGS 84; synthetic",
            },
        )
        self.entities["articles"] = plan.articles

    # -- regions

    def _region(self, level: str, parent: int, province: int, code: str, lat: float, lon: float) -> int:
        english, chinese, short = self.namer.new()
        index = len(self.regions)
        self.regions.append(
            Region(
                f"region/{slugify(english)}",
                english,
                chinese + ZH_SUFFIX[level],
                short,
                level,
                parent,
                province if province >= 0 else index,
                code,
                lat,
                lon,
            )
        )
        self.children.setdefault(parent, []).append(index)
        return index

    def layout(self) -> None:
        """Provinces, prefectures and counties with nesting codes and nearby coordinates (in memory: the
        sources' titles and every later table refer to them)."""
        rng, plan = self.rng, self.plan
        prefectures = [(p, j) for p in range(1, plan.provinces) for j in range(plan.prefectures_per_province)]
        rest = plan.counties - plan.municipality_districts
        counts = [rest // len(prefectures) + (1 if k < rest % len(prefectures) else 0) for k in range(len(prefectures))]
        provinces = []
        for p in range(plan.provinces):
            level = "municipality" if p == 0 else "province"
            provinces.append(
                self._region(
                    level, -1, -1, f"{PROVINCE_CODES[p]}0000", rng.uniform(26.0, 35.0), rng.uniform(114.0, 122.5)
                )
            )
        self.city_units.append(provinces[0])
        self._counties(provinces[0], plan.municipality_districts, f"{PROVINCE_CODES[0]}01", 0.3)
        for (p, j), count in zip(prefectures, counts, strict=True):
            province = self.regions[provinces[p]]
            city = self._region(
                "prefecture-city",
                provinces[p],
                provinces[p],
                f"{PROVINCE_CODES[p]}{j + 1:02d}00",
                province.lat + rng.uniform(-1.2, 1.2),
                province.lon + rng.uniform(-1.2, 1.2),
            )
            self.city_units.append(city)
            self._counties(city, count, f"{PROVINCE_CODES[p]}{j + 1:02d}", 0.4)
        self.entities["regions"] = len(self.regions)

    def _counties(self, parent: int, count: int, prefix: str, spread: float) -> None:
        """Districts take codes 01.., county-level cities 81.. (as in GB/T 2260)."""
        rng = self.rng
        cities = 0 if self.regions[parent].level == "municipality" else min(19, count // 3)
        above = self.regions[parent]
        for k in range(count):
            county_city = k >= count - cities
            number = 81 + k - (count - cities) if county_city else k + 1
            self._region(
                "county-city" if county_city else "district",
                parent,
                above.province,
                f"{prefix}{number:02d}",
                above.lat + rng.uniform(-spread, spread),
                above.lon + rng.uniform(-spread, spread),
            )

    def write_regions(self) -> None:
        rng = self.rng
        for region in self.regions:
            parent = self.regions[region.parent].id if region.parent >= 0 else ""
            self.write(
                "gazetteer",
                {
                    "id": region.id,
                    "name_en": region.name_en,
                    "name_zh": region.name_zh,
                    "level": region.level,
                    "part_of": parent,
                    "code": region.code,
                    "source": REF_GAZETTEER,
                },
            )
            if region.parent < 0 or region.level == "prefecture-city" or rng.random() < 0.8:
                self.write(
                    "coordinates",
                    {
                        "id": region.id,
                        "lat": f"{region.lat:.2f}",
                        "lon": f"{region.lon:.2f}",
                        "source": REF_COORDINATES,
                    },
                )
            if rng.random() < 0.4:  # an article names the region: a second citation of its facts
                self.write(
                    "regions",
                    self.note(
                        self.cite(
                            {
                                "id": region.id,
                                "name_en": region.name_en,
                                "kind": "AdministrativeRegion",
                                "level": region.level if rng.random() < 0.6 else "",
                                "part_of": parent if rng.random() < 0.5 else "",
                            }
                        ),
                        "region",
                    ),
                )
            if region.level == "prefecture-city" and rng.random() < 0.3:  # a one-syllable short form
                self.write(
                    "labels",
                    self.cite(
                        {
                            "id": region.id,
                            "label": region.short,
                            "lang": "en",
                            "kind": "altLabel",
                            "note": "one-syllable short form",
                        }
                    ),
                )
        # Informal regions come from articles: the delta, and the south of each province.
        delta = "region/yangtze-river-delta"
        self.write("regions", self.cite({"id": delta, "name_en": "Yangtze River Delta", "kind": "InformalRegion"}))
        for index in self.children[-1]:
            province = self.regions[index]
            self.write("region_members", self.cite({"group": delta, "member": province.id}))
            cities = [c for c in self.children.get(index, []) if self.regions[c].level == "prefecture-city"]
            if len(cities) >= 2:
                south = f"region/southern-{slugify(province.name_en)}"
                self.write(
                    "regions",
                    self.cite({"id": south, "name_en": f"Southern {province.name_en}", "kind": "InformalRegion"}),
                )
                for city in cities[: len(cities) // 2]:
                    self.write("region_members", self.cite({"group": south, "member": self.regions[city].id}))

    # -- industries and indicators

    def write_industries(self) -> None:
        rng = self.rng
        sectors = [f"industry/{slugify(name)}" for name in SECTORS]
        for industry, name in zip(sectors, SECTORS, strict=True):
            self.write("industries", self.cite({"id": industry, "name_en": name}))
        middle = []
        combinations = len(MODIFIERS) * len(NOUNS)
        for i in range(self.plan.industries):
            # a diagonal walk over modifier x noun, so that even a small taxonomy mixes nouns
            row, turn = i % len(MODIFIERS), (i // len(MODIFIERS)) % len(NOUNS)
            name = f"{MODIFIERS[row]} {NOUNS[(row + turn) % len(NOUNS)]}"
            if i >= combinations:
                name += f", segment {i // combinations + 1}"
            industry = f"industry/{slugify(name)}"
            # Two levels below the sectors: the first 40 % hang under a sector, the rest under those.
            broader = rng.choice(sectors) if i < max(1, int(self.plan.industries * 0.4)) else rng.choice(middle)
            if broader in sectors:
                middle.append(industry)
            self.write(
                "industries", self.note(self.cite({"id": industry, "name_en": name, "broader": broader}), "industry")
            )
            self.industries.append(industry)
        self.industries.extend(sectors)
        self.entities["industries"] = len(self.industries)

    def write_indicators(self) -> None:
        for slug, name, unit, definition, _ in INDICATORS:
            self.write(
                "indicators",
                self.cite({"id": f"indicator/{slug}", "name_en": name, "unit": unit, "definition": definition}),
            )

    # -- parks, agreements, industry links

    def _other_province(self, unit: int) -> int:
        """A city-level region of another province than ``unit``'s (so neither is part of the other)."""
        while True:
            other = self.city_units[self.rng.randrange(len(self.city_units))]
            if self.regions[other].province != self.regions[unit].province:
                return other

    def _host_county(self, unit: int) -> int:
        counties = self.children.get(unit) or [unit]
        return counties[self.rng.randrange(len(counties))]

    def write_parks(self) -> None:
        rng, names = self.rng, Unique()
        kinds, weights = zip(*PARK_KINDS, strict=True)
        for _ in range(self.plan.parks):
            kind = rng.choices(kinds, weights)[0]
            a = self.city_units[rng.randrange(len(self.city_units))]
            b = self._other_province(a)
            county = self._host_county(a)
            A, B, C = self.regions[a].name_en, self.regions[b].name_en, self.regions[county].name_en
            name = names.name(
                {
                    "JointlyBuiltPark": f"{C}-{B} Industrial Park",
                    "CollaborativeZone": f"{A}-{B} Collaborative Zone",
                    "ScienceCity": f"{B} ({C}) Science and Technology City",
                    "HighTechZone": f"{C} High-tech Zone",
                    "DevelopmentZone": f"{C} Economic Development Zone",
                    "IndustrialPark": f"{C} {rng.choice(NOUNS).capitalize()} Industrial Park",
                }[kind]
            )
            slug = slugify(name)
            park = f"park/{slug}"
            article = self.article()
            established = _day(rng, date(1992, 1, 1), article.published)
            row = self.note(
                self.cite(
                    {
                        "id": park,
                        "name_en": name,
                        "kind": kind,
                        "located_in": self.regions[county].id,
                        "established": _precision(rng, established) if rng.random() < 0.7 else "",
                        "area_km2": f"{rng.uniform(0.5, 120):.1f}" if rng.random() < 0.6 else "",
                        "status": rng.choice(("planned", "under-construction", "in-operation"))
                        if rng.random() < 0.8
                        else "",
                    },
                    article,
                ),
                "park",
            )
            self.write("parks", row, dated=("established",))
            if kind == "JointlyBuiltPark" and rng.random() < 0.5:  # a second class, same citation
                self.out.write("parks", dict(row, kind="IndustrialPark"))
            if rng.random() < 0.2:
                self.write("labels", self.cite({"id": park, "label": f"{C} Park", "lang": "en", "kind": "altLabel"}))
            self.parks.append((park, slug))
            if kind in JOINT_KINDS:
                article = self.article()
                for builder in (a, b):
                    self.write(
                        "park_roles",
                        self.cite({"park": park, "party": self.regions[builder].id, "role": "coBuiltBy"}, article),
                    )
                if kind == "JointlyBuiltPark":
                    self.jointly_built.append((park, name, a, b))
                if rng.random() < 0.3:
                    self.write(
                        "park_roles", self.cite({"park": park, "party": self.regions[a].id, "role": "initiatedBy"})
                    )
            elif rng.random() < 0.6:
                self.write(
                    "park_roles", self.cite({"park": park, "party": self.regions[county].id, "role": "managedBy"})
                )
            if rng.random() < 0.2:
                self.write(
                    "park_roles",
                    self.cite(
                        {"park": park, "party": self.regions[self.regions[a].province].id, "role": "supportedBy"}
                    ),
                )
            for industry in rng.sample(self.industries, rng.randint(1, 3)):
                self.write(
                    "industry_links", self.cite({"subject": park, "industry": industry, "role": "leadingIndustry"})
                )
        self.entities["parks"] = len(self.parks)

    def write_agreements(self) -> None:
        rng, names = self.rng, Unique()
        for _ in range(self.plan.agreements):
            if self.jointly_built and rng.random() < 0.3:
                park, park_name, a, b = self.jointly_built[rng.randrange(len(self.jointly_built))]
                kind, name, subject, parties = (
                    "ConstructionAgreement",
                    f"Agreement on jointly building {park_name}",
                    park,
                    [a, b],
                )
                purpose = PURPOSES[0]
            else:
                a = self.city_units[rng.randrange(len(self.city_units))]
                b = self._other_province(a) if rng.random() < 0.7 else self._host_county(a)
                if b == a:  # a city-level unit without counties
                    b = self._other_province(a)
                kind, phrase = rng.choice(AGREEMENT_PHRASES)
                name = f"{self.regions[a].name_en}-{self.regions[b].name_en} {phrase}"
                subject = rng.choice(self.industries) if rng.random() < 0.3 else ""
                parties = [a, b]
                if rng.random() < 0.15:  # a third signatory
                    third = self._other_province(a)
                    if third not in parties:
                        parties.append(third)
                purpose = rng.choice(PURPOSES[1:])
            name = names.name(name)
            agreement = f"agreement/{slugify(name)}"
            article = self.article()
            draw = rng.random()
            signed = (
                ""
                if draw < 0.1
                else (
                    f"--{_day(rng, date(2001, 1, 1), date(2001, 12, 31)).isoformat()[5:]}"
                    if draw < 0.12
                    else _precision(rng, _day(rng, date(2003, 1, 1), article.published))
                )
            )
            derived = "true" if signed and not signed.startswith("--") and rng.random() < 0.05 else ""
            row = self.cite(
                {
                    "id": agreement,
                    "name_en": name,
                    "kind": kind,
                    "signed": signed,
                    "date_derived": derived,
                    "subject": subject,
                    "purpose": purpose,
                },
                article,
            )
            if signed.startswith("--"):
                row["note"] = NOTES["no-year"][0]
            self.write("agreements", row, dated=("signed",))
            for party in parties:
                self.write(
                    "agreement_parties", self.cite({"agreement": agreement, "party": self.regions[party].id}, article)
                )
        self.entities["agreements"] = self.plan.agreements

    def write_industry_links(self) -> None:
        rng = self.rng
        for region in self.regions:
            if region.level in ("province", "municipality", "prefecture-city"):
                count, role = rng.randint(1, 4), "keyIndustry"
            elif rng.random() < 0.25:
                count, role = 1, rng.choice(("developingIndustry", "strengthIndustry"))
            else:
                continue
            for industry in rng.sample(self.industries, count):
                self.write("industry_links", self.cite({"subject": region.id, "industry": industry, "role": role}))

    # -- observations

    def write_observations(self) -> None:
        rng = self.rng
        region_indicators = list(range(len(INDICATORS)))
        park_indicators = [i for i, item in enumerate(INDICATORS) if item[4]]
        subjects = [
            (
                r.id,
                r.id.split("/", 1)[1],
                "county" if r.level in ("district", "county-city") else r.level,
                region_indicators,
            )
            for r in self.regions
        ]
        subjects += [(park, slug, "park", park_indicators) for park, slug in self.parks]
        for subject, slug, kind, indicators in subjects:
            mean = OBSERVATIONS_PER[kind]
            count = rng.randint(max(1, mean // 2), mean + mean // 2)  # mean about `mean`
            years = range(2010, 2026)
            pairs = rng.sample(range(len(indicators) * len(years)), min(count, len(indicators) * len(years)))
            seen: set[str] = set()  # ids name their subject, so uniqueness is per subject
            for pair in pairs:
                slug_i, name, unit, _, _ = INDICATORS[indicators[pair % len(indicators)]]
                year = years[pair // len(indicators)]
                article = self.article()
                if year > article.published.year:  # a figure is reported after its year
                    year = article.published.year - rng.randint(0, 2)
                row = self._observation(subject, slug, slug_i, unit, year, article, seen)
                if row is not None:
                    self.write("observations", row, dated=("period", "period_end"), keep_dates=True)

    def _observation(
        self, subject: str, slug: str, indicator: str, unit: str, year: int, article: Article, seen: set[str]
    ) -> dict | None:
        rng = self.rng
        draw, period, period_end, derived = rng.random(), str(year), "", ""
        if draw < 0.1 and year < article.published.year:
            period = f"{year}-{rng.randint(1, 12):02d}"
        elif draw < 0.15 and year <= article.published.year - 3:
            period_end = str(year + rng.randint(1, 2))
        elif draw < 0.2 and year == article.published.year and article.to_the_day:
            period, derived = article.published.isoformat(), "true"  # "so far this year": the publication day
        identity = f"obs/{slug}-{indicator}-{period}" + (f"-{period_end}" if period_end else "")
        if identity in seen:
            return None  # the same figure twice after the year was moved back
        seen.add(identity)
        low, high = VALUE_RANGE[unit]
        if unit == "percent":
            value = f"{rng.uniform(low, high):.2f}"
        else:
            value = str(max(1, round(10 ** rng.uniform(low, high))))
        change = rng.random() < 0.4
        self.entities["observations"] += 1
        return self.note(
            self.cite(
                {
                    "id": identity,
                    "subject": subject,
                    "indicator": f"indicator/{indicator}",
                    "period": period,
                    "period_end": period_end,
                    "date_derived": derived,
                    "value": value,
                    "unit": unit,
                    "qualifier": rng.choice(("exact", "exact", "exact", "approximately", "nearly", "more-than")),
                    "change_rate": f"{rng.uniform(-12, 30):.2f}" if change else "",
                    "change_basis": "year-on-year" if change and rng.random() < 0.8 else "",
                },
                article,
            ),
            "observation",
        )

    def run(self) -> None:
        self.layout()
        self.sources()
        self.write_regions()
        self.write_industries()
        self.write_indicators()
        self.write_parks()
        self.write_agreements()
        self.write_industry_links()
        self.write_observations()


def generate(out_dir: Path, triples: int, seed: int = 1) -> dict:
    """Write a complete seed folder for about ``triples`` asserted triples to ``out_dir``; return a summary
    (target and estimated triples, the plan, entities and rows per table)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = METADATA_SOURCE.read_bytes()
    metadata = json.loads(raw)
    (out_dir / METADATA_FILE).write_bytes(raw)
    plan = choose_plan(triples)
    with ExitStack() as stack:
        tables = Tables(out_dir, metadata, stack)
        generator = _Generator(plan, random.Random(seed), tables)
        generator.run()
    return {
        "target_triples": triples,
        "estimated_triples": round(estimate(plan)),
        "seed": seed,
        "plan": asdict(plan),
        "entities": generator.entities,
        "rows": dict(tables.rows),
        "total_rows": sum(tables.rows.values()),
    }


def calibrate(out_dir: Path, triples: int, seed: int = 1) -> dict:
    """Measure asserted triples per entity kind with the real mappings (no reasoning or validation), the
    numbers behind TRIPLES_PER. Generates into ``out_dir``."""
    from collections import Counter

    from kg.build.pipeline import map_seeds
    from kg.config import load_settings

    summary = generate(out_dir, triples, seed)
    settings = load_settings({"root": PROJECT_ROOT, "seeds_dir": Path(out_dir).resolve()}, env={})
    asserted = map_seeds(settings, progress=lambda message: None)
    minted = settings.base_iri + "id/"
    kinds = Counter()
    for s, _, _ in asserted:
        text = s.value
        kind = text[len(minted) :].split("/", 1)[0] if text.startswith(minted) else "other"
        kinds[
            {
                "geometry": "region",
                "obs": "observation",
                "source": "article",
                "scheme": "fixed",
                "dataset": "fixed",
            }.get(kind, kind)
        ] += 1
    entities, plan = summary["entities"], plan_for(summary["plan"]["counties"])
    references = 2 * 6  # type, identifier, title, publisher, language, note
    per = {
        "region": kinds["region"] / entities["regions"],
        "park": kinds["park"] / entities["parks"],
        "agreement": kinds["agreement"] / entities["agreements"],
        "industry": kinds["industry"] / entities["industries"],
        # per *expected* observation: absorbs the few the generator drops as duplicates
        "observation": kinds["observation"] / plan.observations(),
        "article": (kinds["article"] - references) / entities["articles"],
    }
    return {
        "asserted": len(asserted),
        "estimated": summary["estimated_triples"],
        "by_kind": dict(kinds),
        "per_entity": {k: round(v, 2) for k, v in per.items()},
        "fixed": kinds["indicator"] + kinds["fixed"] + references,
        "entities": entities,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--triples", type=int, required=True, help="target size of the asserted graph")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the seed tables to")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--calibrate", action="store_true", help="also run the real mappings and print asserted triples per entity kind"
    )
    args = parser.parse_args(argv)
    try:
        if args.calibrate:
            result = calibrate(args.out, args.triples, args.seed)
        else:
            result = generate(args.out, args.triples, args.seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
