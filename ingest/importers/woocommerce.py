"""WooCommerce orders: the CSV of WooCommerce's Customer / Order / Coupon Export extension,
"Default - One Row per Item" format (woocommerce.com/document/ordercustomer-csv-export).

Format facts relied on (the extension's documentation asks integrations to key on its
column names, never on their order): one row per line item with the order-level columns
repeated on every row of the order; `order_date` is the shop's local time without an offset
(pass `--timezone`); `customer_id` is `0` for a guest checkout; statuses are WooCommerce's
slugs (`pending`, `processing`, `on-hold`, `completed`, `cancelled`, `refunded`, `failed`,
`checkout-draft`); `refunded_total` is the amount refunded so far; the file may start with a
UTF-8 byte-order mark. Item columns: `item_name`, `item_sku`, `item_quantity`,
`item_total` (the line total after discounts, without tax).

Mapping: `pending`, `on-hold` (awaiting payment confirmation) and `checkout-draft` are
unpaid (`pending`); `processing` and `completed` are paid; `failed` is cancelled. A line's
unit price is `item_total / item_quantity`.
"""

from __future__ import annotations

from ingest.importers.csv_orders import CsvImportOptions

NAME = "woocommerce"
OPTIONS = CsvImportOptions(
    detect_columns=False,
    null_customer_ids=["0"],
    aliases={
        "order_id": ["order_id"],
        "ordered_at": ["order_date"],
        "amount": ["order_total"],
        "status": ["status"],
        "currency": ["order_currency", "currency"],
        "shipping": ["shipping_total"],
        "tax": ["tax_total"],
        "discount": ["discount_total", "cart_discount"],
        "refunded": ["refunded_total"],
        "customer_id": ["customer_id"],
        "email": ["billing_email"],
        "phone": ["billing_phone"],
        "first_name": ["billing_first_name"],
        "last_name": ["billing_last_name"],
        "country": ["billing_country"],
        "product_id": ["item_product_id"],
        "sku": ["item_sku"],
        "product_name": ["item_name"],
        "quantity": ["item_quantity"],
        "line_total": ["item_total"],
    },
    status_map={
        "pending": "pending",
        "on-hold": "pending",
        "checkout-draft": "pending",
        "processing": "paid",
        "completed": "paid",
        "cancelled": "cancelled",
        "failed": "cancelled",
        "refunded": "refunded",
    },
)
