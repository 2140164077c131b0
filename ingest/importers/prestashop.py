"""PrestaShop orders: the CSV of the back office's Orders > Orders > Export button
(PrestaShop 1.7 / 8, doc.prestashop.com "Orders").

Format facts relied on: the export is the order list as shown, one row per order, `;`
between fields; English column labels `ID`, `Reference`, `New client`, `Delivery` (country
name), `Customer` (written `J. DOE`: an initial and a surname, not an identifier),
`Total` (formatted in the shop's currency and locale: `€45.99`, `45,99 zł`), `Payment`,
`Status` (the order state's label), `Date` (the employee language's date format, e.g.
`04/05/2026 21:06:21` in English). The list has no email, phone or customer id, so its
orders are unidentified orders: counted, never rejected. `Reference` is not unique (a cart
split over carriers gives several orders one reference), so `ID` is the order id.

States: "Awaiting ... payment/validation" and "On backorder (not paid)" are unpaid
(`pending`); "Payment accepted", "Remote payment accepted", "Processing in progress",
"Shipped", "Delivered", "On backorder (paid)" are paid; "Canceled" and "Payment error" are
cancelled; "Refunded" is refunded (the Polish labels of these states are mapped too). A
back office in another language writes translated column labels: map them with `--column`.
"""

from __future__ import annotations

from ingest.importers.csv_orders import CsvImportOptions

NAME = "prestashop"
OPTIONS = CsvImportOptions(
    detect_columns=False,
    aliases={
        "order_id": ["ID"],
        "ordered_at": ["Date"],
        "amount": ["Total"],
        "status": ["Status"],
    },
    # English back office first; ISO and Polish day-first as written by other languages
    timestamp_formats=["%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S"],
    status_map={
        "awaiting bank wire payment": "pending",
        "awaiting check payment": "pending",
        "awaiting cheque payment": "pending",
        "awaiting cash on delivery validation": "pending",
        "awaiting paypal payment": "pending",
        "on backorder (not paid)": "pending",
        "payment accepted": "paid",
        "remote payment accepted": "paid",
        "processing in progress": "paid",
        "shipped": "paid",
        "delivered": "paid",
        "on backorder (paid)": "paid",
        "canceled": "cancelled",
        "payment error": "cancelled",
        "refunded": "refunded",
        # the same states in a Polish back office
        "oczekiwanie na płatność przelewem": "pending",
        "oczekiwanie na płatność czekiem": "pending",
        "oczekiwanie na płatność przy odbiorze": "pending",
        "zamówienie oczekujące (nieopłacone)": "pending",
        "płatność zaakceptowana": "paid",
        "płatność zdalna zaakceptowana": "paid",
        "przygotowanie w toku": "paid",
        "wysłane": "paid",
        "dostarczone": "paid",
        "zamówienie oczekujące (opłacone)": "paid",
        "anulowane": "cancelled",
        "błąd płatności": "cancelled",
        "zwrot pieniędzy": "refunded",
    },
)
