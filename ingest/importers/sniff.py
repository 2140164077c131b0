"""Detect how an orders file is written: encoding, delimiter, decimal separator, date format,
and which column holds which field (English and Polish header names).

Only the first `_SAMPLE_BYTES` of the file are read. Used by `import_csv_orders` for every
option the user did not set, and shown by `rw-ingest inspect`.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ingest.importers.common import ImportFileError

_SAMPLE_BYTES = 1 << 20
_SAMPLE_ROWS = 200
DELIMITERS = (",", ";", "\t")
# Single-byte encodings of European shop exports, tried only when the file is not UTF-8.
_LEGACY_ENCODINGS = ["cp1250", "cp1252", "iso8859_2", "iso8859_15"]

# Timestamp formats tried in order when ISO 8601 does not parse every sample (strptime
# patterns as DuckDB's strptime reads them). Day-first before month-first: when both fit
# every sample the file is ambiguous and day-first (European exports) wins, with a note.
TIMESTAMP_FORMATS = [
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%b %d, %Y %I:%M:%S %p",  # Magento 2 grid export: "Apr 5, 2026 9:06:21 PM"
    "%b %d, %Y, %I:%M:%S %p",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
]
_ISO = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?"
    r"( ?(Z|[+-]\d{2}(:?\d{2})?))?"
)

# Common header names per field, compared after `_norm` (lower case, no accents, words
# separated by one space). English first, then Polish exports (Allegro, PrestaShop PL,
# Shoper, IdoSell, WooCommerce PL and spreadsheets people keep).
HEADER_NAMES: dict[str, list[str]] = {
    "order_id": [
        "order id",
        "order number",
        "order no",
        "order",
        "order name",
        "order ref",
        "order reference",
        "transaction id",
        "invoice number",
        "id zamowienia",
        "numer zamowienia",
        "nr zamowienia",
        "zamowienie",
        "nr",
    ],
    "ordered_at": [
        "ordered at",
        "order date",
        "created at",
        "date",
        "purchase date",
        "order time",
        "created",
        "transaction date",
        "date created",
        "data",
        "data zamowienia",
        "data zakupu",
        "data zlozenia zamowienia",
        "data utworzenia",
    ],
    "amount": [
        "amount",
        "total",
        "order total",
        "grand total",
        "total amount",
        "total paid",
        "revenue",
        "value",
        "kwota",
        "wartosc",
        "suma",
        "wartosc zamowienia",
        "kwota brutto",
        "razem",
        "wartosc brutto",
        "do zaplaty",
    ],
    "customer_id": [
        "customer id",
        "client id",
        "user id",
        "account id",
        "customer number",
        "id klienta",
        "nr klienta",
        "numer klienta",
        "klient id",
    ],
    "email": [
        "email",
        "e mail",
        "email address",
        "customer email",
        "billing email",
        "adres email",
        "adres e mail",
        "email klienta",
    ],
    "phone": [
        "phone",
        "phone number",
        "telephone",
        "mobile",
        "billing phone",
        "customer phone",
        "telefon",
        "nr telefonu",
        "numer telefonu",
        "telefon klienta",
    ],
    "device_id": ["device id", "anonymous id", "cookie id", "client id ga", "visitor id"],
    "first_name": ["first name", "billing first name", "imie"],
    "last_name": ["last name", "billing last name", "surname", "nazwisko"],
    "full_name": [
        "full name",
        "customer name",
        "billing name",
        "bill to name",
        "buyer name",
        "imie i nazwisko",
        "nazwa klienta",
        "klient",
    ],
    "country": ["country", "country code", "billing country", "kraj", "kod kraju"],
    "currency": ["currency", "currency code", "order currency", "waluta"],
    "status": [
        "status",
        "order status",
        "financial status",
        "payment status",
        "status zamowienia",
        "status platnosci",
        "stan",
    ],
    "subtotal": ["subtotal", "sub total", "wartosc produktow", "suma czesciowa"],
    "discount": ["discount", "discount amount", "discount total", "rabat", "znizka"],
    "shipping": [
        "shipping",
        "shipping cost",
        "shipping total",
        "delivery cost",
        "koszt dostawy",
        "dostawa",
        "koszt wysylki",
        "wysylka",
    ],
    "tax": ["tax", "taxes", "vat", "tax total", "podatek"],
    "discount_code": ["discount code", "coupon", "coupon code", "promo code", "kod rabatowy"],
    "refunded": ["refunded", "refunded amount", "total refunded", "refund", "kwota zwrotu"],
    "product_id": ["product id", "item id", "id produktu"],
    "sku": ["sku", "product sku", "item sku", "product code", "kod produktu", "symbol", "ean"],
    "product_name": [
        "product name",
        "product",
        "item name",
        "item",
        "title",
        "nazwa produktu",
        "produkt",
        "nazwa",
        "towar",
    ],
    "category": ["category", "product category", "product type", "kategoria"],
    "quantity": ["quantity", "qty", "units", "ilosc", "liczba sztuk", "szt"],
    "unit_price": [
        "unit price",
        "price",
        "item price",
        "cena",
        "cena jednostkowa",
        "cena brutto",
    ],
    "line_total": ["line total", "item total", "wartosc pozycji"],
    "line_discount": ["line discount", "item discount", "rabat pozycji"],
}


def _norm(name: str) -> str:
    text = unicodedata.normalize("NFKD", name.replace("ł", "l").replace("Ł", "L"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def propose_columns(header: list[str], taken: set[str] | None = None) -> dict[str, str]:
    """Field -> header column by common names; each column is used once, exact names first."""
    by_norm: dict[str, str] = {}
    for col in header:
        by_norm.setdefault(_norm(col), col)
    used = set(taken or ())
    out: dict[str, str] = {}
    for field_name, names in HEADER_NAMES.items():
        for candidate in [field_name.replace("_", " "), *names]:
            col = by_norm.get(candidate)
            if col is not None and col not in used:
                out[field_name] = col
                used.add(col)
                break
    return out


@dataclass
class Sniffed:
    """What the first part of a file looks like."""

    encoding: str
    delimiter: str
    header: list[str]
    rows: list[dict[str, str]]  # sample data rows, header -> value
    notes: list[str] = field(default_factory=list)

    def values(self, column: str | None) -> list[str]:
        if column is None:
            return []
        return [v.strip() for r in self.rows if (v := r.get(column) or "").strip()]


def detect_encoding(data: bytes) -> tuple[str, str]:
    """(encoding, how it was found) for a file's first bytes."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", "UTF-8 byte-order mark"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", "UTF-16 byte-order mark"
    try:
        # the sample may end inside a multi-byte character: decode incrementally
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
        return "utf-8", "valid UTF-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    # threshold 0.5 (default 0.2): Polish text is dense in letters these code pages differ
    # in, which the library otherwise reads as noise
    best = from_bytes(data, cp_isolation=_LEGACY_ENCODINGS, threshold=0.5).best()
    if best is None:
        raise ImportFileError("not a text file in a known encoding (pass --encoding)")
    return best.encoding, "not UTF-8; charset detection among " + ", ".join(_LEGACY_ENCODINGS)


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the header into most columns and the rows consistently."""
    lines = text.splitlines()[:50]
    best, best_score = ",", (-1, -1)
    for delim in DELIMITERS:
        rows = list(csv.reader(lines, delimiter=delim))
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistent = sum(1 for r in rows[1:] if len(r) == width)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delim, score
    return best


def sniff(path: Path, encoding: str | None = None, delimiter: str | None = None) -> Sniffed:
    """Read the start of `path`: encoding and delimiter (unless given), header, sample rows."""
    if not path.is_file():
        raise ImportFileError(f"{path}: file not found or not a regular file")
    with path.open("rb") as fh:
        data = fh.read(_SAMPLE_BYTES)
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError(f"{path}: not a text CSV file (NUL bytes)")
    notes = []
    if encoding is None:
        encoding, how = detect_encoding(data)
        notes.append(f"encoding {encoding} ({how})")
    try:
        codec = "utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding
        text = data.decode(codec, errors="strict" if len(data) < _SAMPLE_BYTES else "ignore")
    except (UnicodeDecodeError, LookupError) as exc:
        raise ImportFileError(
            f"{path}: not {encoding} text ({exc}); pass the file's encoding "
            "(e.g. --encoding cp1250)"
        ) from exc
    if len(data) == _SAMPLE_BYTES:  # drop a possibly cut last line
        text = text[: text.rfind("\n") + 1] or text
    if delimiter is None:
        delimiter = detect_delimiter(text)
        notes.append(f"delimiter {delimiter!r}")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if not header or all(not h.strip() for h in header):
        raise ImportFileError(f"{path}: empty file or no header row")
    header = [h.strip() for h in header]
    rows = []
    for values in reader:
        if len(rows) >= _SAMPLE_ROWS:
            break
        if values and any(v.strip() for v in values):
            rows.append(dict(zip(header, values, strict=False)))
    return Sniffed(encoding, delimiter, header, rows, notes)


_COMMA_DECIMAL = re.compile(r"[^0-9]*-?[0-9][0-9 .\u00a0]*,[0-9]{1,2}[^0-9]*")
_POINT_DECIMAL = re.compile(r"[^0-9]*-?[0-9][0-9 ,\u00a0]*\.[0-9]{1,2}[^0-9]*")


def detect_decimal_comma(values: list[str]) -> bool:
    """True when money values are written `12,50` / `1.234,50` rather than `12.50`."""
    comma = sum(1 for v in values if _COMMA_DECIMAL.fullmatch(v))
    point = sum(1 for v in values if _POINT_DECIMAL.fullmatch(v))
    return comma > point


def _parses(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def detect_timestamp_formats(values: list[str]) -> tuple[list[str] | None, str | None]:
    """(formats, note): None when ISO 8601 reads the samples, else the pattern that reads
    most of them (values it cannot read are rejected as unparseable, with their row)."""
    values = values[:_SAMPLE_ROWS]
    if not values:
        return None, None
    iso = sum(1 for v in values if _ISO.fullmatch(v))
    counts = {fmt: sum(1 for v in values if _parses(v, fmt)) for fmt in TIMESTAMP_FORMATS}
    best = max(counts, key=lambda f: counts[f])  # first of the best: day-first wins ties
    if iso >= counts[best] and iso * 2 >= len(values):
        return None, None
    if counts[best] * 2 < len(values):
        return None, f"no known date format reads most samples (e.g. {values[0]!r})"
    note = None
    rival = next(
        (f for f, n in counts.items() if n == counts[best] and f[:2] != best[:2] and f != best),
        None,
    )
    if rival is not None:
        note = f"dates are ambiguous ({best!r} or {rival!r}); read as {best!r}"
    return [best], note
