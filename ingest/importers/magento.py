"""Magento 2 orders: the CSV of the admin's Sales > Orders grid, Export > CSV
(experienceleague.adobe.com "Orders workspace"; magento/magento2 issues #28448, #10763).

Format facts relied on: one row per order with the grid's column labels: `ID` (the order's
increment id, zero-padded: `000000101`), `Purchase Point`, `Purchase Date` (written
`Apr 5, 2026 9:06:21 PM`, the grid's format, in the admin's time zone), `Bill-to Name`,
`Ship-to Name`, `Grand Total (Base)`, `Grand Total (Purchased)` (formatted with the
currency symbol, `€45.99`), `Status`, `Customer Email`, `Customer Group` (`NOT LOGGED IN`
for guests), `Subtotal`, `Shipping and Handling`, `Customer Name`, `Payment Method`,
`Total Refunded`. The grid has no customer id column: identity comes from the email;
the buyer's name is `Bill-to Name` (split at the first space).
Columns a store hid or added are fine; only `ID`, `Purchase Date` and a grand total are
needed. Status is the raw code in older versions (`pending_payment`, issue #28448) and the
label in newer ones: both are mapped.

Mapping: `pending`, `pending_payment`, `payment_review`, `holded` / On Hold are unpaid
(`pending`); `processing`, `complete` are paid; `closed` (credit memo for the whole order)
is refunded; `canceled`, `fraud` are cancelled. The currency is read from the total's
symbol; refunds from `Total Refunded`.
"""

from __future__ import annotations

from ingest.importers.csv_orders import CsvImportOptions

NAME = "magento"
OPTIONS = CsvImportOptions(
    detect_columns=False,
    aliases={
        "order_id": ["ID"],
        "ordered_at": ["Purchase Date"],
        "amount": ["Grand Total (Purchased)", "Grand Total (Base)"],
        "status": ["Status"],
        "email": ["Customer Email"],
        "full_name": ["Bill-to Name", "Customer Name"],
        "subtotal": ["Subtotal"],
        "shipping": ["Shipping and Handling"],
        "refunded": ["Total Refunded"],
    },
    timestamp_formats=["%b %d, %Y %I:%M:%S %p", "%b %d, %Y, %I:%M:%S %p", "%Y-%m-%d %H:%M:%S"],
    status_map={
        "pending": "pending",
        "pending_payment": "pending",
        "pending payment": "pending",
        "payment_review": "pending",
        "payment review": "pending",
        "holded": "pending",
        "on hold": "pending",
        "processing": "paid",
        "complete": "paid",
        "closed": "refunded",
        "canceled": "cancelled",
        "fraud": "cancelled",
        "suspected fraud": "cancelled",
    },
)
