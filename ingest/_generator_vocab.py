"""Static vocabulary for the sample-data generator: names, domains, catalogue words, codes.

Kept apart from `ingest.generator` so the generative code stays readable. Everything here
is plain data; the generator draws from it with seeded numpy generators.
"""

from __future__ import annotations

# fmt: off
# --- people -------------------------------------------------------------------------------
# (display name, ascii form used in e-mail local parts)
PL_FEMALE_FIRST = [
    ("Anna", "anna"), ("Maria", "maria"), ("Katarzyna", "katarzyna"), ("Małgorzata", "malgorzata"),
    ("Agnieszka", "agnieszka"), ("Barbara", "barbara"), ("Ewa", "ewa"), ("Krystyna", "krystyna"),
    ("Magdalena", "magdalena"), ("Joanna", "joanna"), ("Aleksandra", "aleksandra"),
    ("Zofia", "zofia"), ("Monika", "monika"), ("Teresa", "teresa"), ("Danuta", "danuta"),
    ("Natalia", "natalia"), ("Karolina", "karolina"), ("Marta", "marta"), ("Julia", "julia"),
    ("Beata", "beata"), ("Dorota", "dorota"), ("Paulina", "paulina"), ("Justyna", "justyna"),
    ("Weronika", "weronika"), ("Alicja", "alicja"), ("Iwona", "iwona"), ("Zuzanna", "zuzanna"),
]
PL_MALE_FIRST = [
    ("Piotr", "piotr"), ("Krzysztof", "krzysztof"), ("Andrzej", "andrzej"), ("Tomasz", "tomasz"),
    ("Paweł", "pawel"), ("Jan", "jan"), ("Michał", "michal"), ("Marcin", "marcin"),
    ("Stanisław", "stanislaw"), ("Jakub", "jakub"), ("Adam", "adam"), ("Marek", "marek"),
    ("Łukasz", "lukasz"), ("Grzegorz", "grzegorz"), ("Mateusz", "mateusz"),
    ("Wojciech", "wojciech"), ("Mariusz", "mariusz"), ("Dariusz", "dariusz"),
    ("Zbigniew", "zbigniew"), ("Kamil", "kamil"), ("Bartosz", "bartosz"), ("Szymon", "szymon"),
    ("Rafał", "rafal"), ("Robert", "robert"), ("Kacper", "kacper"), ("Filip", "filip"),
]
# (male form, female form, ascii male, ascii female)
PL_LAST = [
    ("Nowak", "Nowak", "nowak", "nowak"),
    ("Kowalski", "Kowalska", "kowalski", "kowalska"),
    ("Wiśniewski", "Wiśniewska", "wisniewski", "wisniewska"),
    ("Wójcik", "Wójcik", "wojcik", "wojcik"),
    ("Kowalczyk", "Kowalczyk", "kowalczyk", "kowalczyk"),
    ("Kamiński", "Kamińska", "kaminski", "kaminska"),
    ("Lewandowski", "Lewandowska", "lewandowski", "lewandowska"),
    ("Zieliński", "Zielińska", "zielinski", "zielinska"),
    ("Szymański", "Szymańska", "szymanski", "szymanska"),
    ("Woźniak", "Woźniak", "wozniak", "wozniak"),
    ("Dąbrowski", "Dąbrowska", "dabrowski", "dabrowska"),
    ("Kozłowski", "Kozłowska", "kozlowski", "kozlowska"),
    ("Jankowski", "Jankowska", "jankowski", "jankowska"),
    ("Mazur", "Mazur", "mazur", "mazur"),
    ("Kwiatkowski", "Kwiatkowska", "kwiatkowski", "kwiatkowska"),
    ("Krawczyk", "Krawczyk", "krawczyk", "krawczyk"),
    ("Piotrowski", "Piotrowska", "piotrowski", "piotrowska"),
    ("Grabowski", "Grabowska", "grabowski", "grabowska"),
    ("Nowakowski", "Nowakowska", "nowakowski", "nowakowska"),
    ("Pawłowski", "Pawłowska", "pawlowski", "pawlowska"),
    ("Michalski", "Michalska", "michalski", "michalska"),
    ("Król", "Król", "krol", "krol"),
    ("Wieczorek", "Wieczorek", "wieczorek", "wieczorek"),
    ("Jabłoński", "Jabłońska", "jablonski", "jablonska"),
    ("Wróbel", "Wróbel", "wrobel", "wrobel"),
    ("Majewski", "Majewska", "majewski", "majewska"),
    ("Olszewski", "Olszewska", "olszewski", "olszewska"),
    ("Stępień", "Stępień", "stepien", "stepien"),
    ("Malinowski", "Malinowska", "malinowski", "malinowska"),
    ("Jaworski", "Jaworska", "jaworski", "jaworska"),
]
FOREIGN_FIRST = {
    "DE": [("Lukas", "lukas"), ("Anna", "anna"), ("Jonas", "jonas"), ("Lea", "lea"),
           ("Felix", "felix"), ("Sophie", "sophie"), ("Maximilian", "maximilian"),
           ("Jürgen", "juergen")],
    "CZ": [("Jakub", "jakub"), ("Tereza", "tereza"), ("Tomáš", "tomas"), ("Eliška", "eliska"),
           ("Petr", "petr"), ("Lucie", "lucie"), ("Jiří", "jiri"), ("Kateřina", "katerina")],
    "GB": [("Oliver", "oliver"), ("Amelia", "amelia"), ("George", "george"),
           ("Olivia", "olivia"), ("Harry", "harry"), ("Emily", "emily"), ("Jack", "jack"),
           ("Isla", "isla")],
}
FOREIGN_LAST = {
    "DE": [("Müller", "mueller"), ("Schmidt", "schmidt"), ("Schneider", "schneider"),
           ("Fischer", "fischer"), ("Weber", "weber"), ("Meyer", "meyer"), ("Wagner", "wagner")],
    "CZ": [("Novák", "novak"), ("Svoboda", "svoboda"), ("Dvořák", "dvorak"),
           ("Černý", "cerny"), ("Procházka", "prochazka"), ("Kučera", "kucera")],
    "GB": [("Smith", "smith"), ("Jones", "jones"), ("Taylor", "taylor"), ("Brown", "brown"),
           ("Williams", "williams"), ("Wilson", "wilson"), ("Evans", "evans")],
}
COUNTRIES = ("PL", "DE", "CZ", "GB")
COUNTRY_P = (0.88, 0.05, 0.04, 0.03)

PRIVATE_DOMAINS = {
    "PL": ["gmail.com", "wp.pl", "onet.pl", "o2.pl", "interia.pl", "op.pl", "outlook.com",
           "icloud.com", "gazeta.pl", "tlen.pl"],
    "DE": ["gmail.com", "gmx.de", "web.de", "t-online.de", "outlook.com"],
    "CZ": ["gmail.com", "seznam.cz", "email.cz", "centrum.cz"],
    "GB": ["gmail.com", "outlook.com", "yahoo.co.uk", "icloud.com", "btinternet.com"],
}
WORK_DOMAINS = [
    "firma-kowalski.pl", "biuro-rachunkowe.pl", "techsoft.pl", "mediagroup.pl", "pkobp-mail.pl",
    "uni-wroc.edu.pl", "agencja-kreatywna.pl", "logistyka24.pl", "softhouse.com",
    "kancelaria-prawna.pl", "example-corp.de", "ordinace.cz", "consulting.co.uk",
]

# --- catalogue ----------------------------------------------------------------------------
# name, share of catalogue, median price PLN, price sigma, consumable, replenishment range
CATEGORIES: list[tuple[str, float, float, float, bool, tuple[int, int] | None]] = [
    ("skincare", 0.20, 49.0, 0.45, True, (30, 75)),
    ("haircare", 0.13, 32.0, 0.40, True, (35, 90)),
    ("supplements", 0.13, 42.0, 0.35, True, (30, 60)),
    ("coffee_tea", 0.14, 29.0, 0.40, True, (20, 45)),
    ("apparel", 0.18, 99.0, 0.50, False, None),
    ("accessories", 0.11, 65.0, 0.60, False, None),
    ("home", 0.11, 75.0, 0.60, False, None),
]
CATEGORY_WORDS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "skincare": (
        ["Hydrating", "Brightening", "Soothing", "Vitamin C", "Retinol", "Ceramide", "Matte",
         "Gentle", "Night", "Daily"],
        ["Face Serum", "Day Cream", "Night Cream", "Cleanser", "Toner", "Eye Cream",
         "Face Mask", "SPF 50 Fluid", "Micellar Water", "Body Lotion"],
        ["30 ml", "50 ml", "100 ml", "200 ml"],
    ),
    "haircare": (
        ["Repair", "Volume", "Curl", "Argan", "Keratin", "Anti-Dandruff", "Color Care",
         "Smoothing"],
        ["Shampoo", "Conditioner", "Hair Mask", "Hair Oil", "Leave-in Spray", "Dry Shampoo"],
        ["250 ml", "300 ml", "500 ml", "1 l"],
    ),
    "supplements": (
        ["Vitamin D3", "Omega-3", "Magnesium", "Collagen", "Probiotic", "Iron", "Zinc",
         "Multivitamin", "Ashwagandha"],
        ["Capsules", "Tablets", "Powder", "Gummies", "Drops"],
        ["30 pcs", "60 pcs", "90 pcs", "120 pcs"],
    ),
    "coffee_tea": (
        ["Colombia", "Ethiopia", "Brazil", "Espresso", "Decaf", "Sencha", "Earl Grey",
         "Rooibos", "Matcha", "Yerba Mate"],
        ["Coffee Beans", "Ground Coffee", "Green Tea", "Black Tea", "Herbal Tea", "Capsules"],
        ["250 g", "500 g", "1 kg", "100 g"],
    ),
    "apparel": (
        ["Cotton", "Linen", "Merino", "Oversized", "Slim", "Classic", "Organic", "Knitted"],
        ["T-shirt", "Sweater", "Hoodie", "Dress", "Shirt", "Trousers", "Skirt", "Jacket",
         "Pyjamas"],
        ["S", "M", "L", "XL"],
    ),
    "accessories": (
        ["Leather", "Canvas", "Silk", "Wool", "Bamboo", "Vintage", "Minimal"],
        ["Tote Bag", "Wallet", "Scarf", "Belt", "Cap", "Sunglasses", "Watch Strap", "Beanie"],
        ["black", "brown", "navy", "beige"],
    ),
    "home": (
        ["Ceramic", "Scented", "Linen", "Glass", "Oak", "Cotton", "Enamel"],
        ["Mug", "Candle", "Towel Set", "Vase", "Cutting Board", "Bedding Set", "Coffee Grinder",
         "Teapot", "Diffuser"],
        ["small", "medium", "large", "set"],
    ),
}

# --- commerce -----------------------------------------------------------------------------
REFUND_REASONS = ("damaged", "wrong_size", "late_delivery", "not_as_described", "changed_mind")
REFUND_REASON_P = (0.24, 0.20, 0.16, 0.18, 0.22)
BAD_EXPERIENCE_REASONS = ("damaged", "late_delivery", "not_as_described")

# code -> fraction off
EVERGREEN_CODES = {"WELCOME10": 0.10, "NEWSLETTER10": 0.10, "WINBACK20": 0.20, "VIP15": 0.15,
                   "FREESHIP": 0.0, "INSTA15": 0.15}

EMAIL_WORKFLOWS = ("newsletter", "welcome", "cart_abandonment", "post_purchase",
                   "replenishment", "winback")
CONSENT_SOURCES = ("checkout", "signup_form", "popup", "preference_center", "import")
# fmt: on
