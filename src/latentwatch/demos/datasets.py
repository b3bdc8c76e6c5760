"""A realistic mixed-type table with planted anomalies: card transactions.

Normal rows follow simple, learnable rules: each merchant category has its opening
hours, amount range and share of online sales; the currency is the one of the country
the purchase is made in (mostly the customer's home); online purchases have no card
entry mode, purchases in a shop have one; the customer's age is missing at random.

Planted anomalies, in equal shares:

``extreme_amount``
    The amount is 20 to 60 times a usual one for the merchant category.
``rare_combination``
    The currency does not match the country (each value is common on its own).
``impossible_hour``
    A purchase in a shop that is closed at that hour (a grocery at 3 am).
``missing_pattern``
    A purchase in a shop without a card entry mode (only online purchases lack one).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ANOMALY_KINDS = ("extreme_amount", "rare_combination", "impossible_hour", "missing_pattern")

# name: (share of purchases, log-mean amount in EUR, log-sd, opening hour, closing hour,
#        share online). Hours wrap past midnight; (0, 24) is always open.
MERCHANTS = {
    "grocery": (0.26, 3.3, 0.6, 7, 22, 0.03),
    "restaurant": (0.14, 3.5, 0.5, 11, 23, 0.05),
    "fuel": (0.10, 3.9, 0.3, 5, 23, 0.0),
    "bar": (0.07, 3.0, 0.5, 17, 3, 0.0),
    "pharmacy": (0.06, 3.0, 0.5, 8, 21, 0.1),
    "clothing": (0.09, 4.2, 0.6, 9, 21, 0.4),
    "electronics": (0.05, 5.0, 0.8, 9, 21, 0.6),
    "travel": (0.05, 6.0, 0.7, 0, 24, 0.8),
    "digital": (0.10, 2.3, 0.8, 0, 24, 1.0),
    "utilities": (0.08, 4.5, 0.4, 0, 24, 1.0),
}
COUNTRIES = {"DE": (0.40, "EUR"), "FR": (0.20, "EUR"), "NL": (0.10, "EUR"),
             "GB": (0.15, "GBP"), "US": (0.10, "USD"), "JP": (0.05, "JPY")}
EUR_TO = {"EUR": 1.0, "GBP": 0.85, "USD": 1.1, "JPY": 160.0}
ENTRY_MODES = (("chip", 0.6), ("contactless", 0.35), ("swipe", 0.05))


def _open_hours(opens: int, closes: int) -> list[int]:
    if (opens, closes) == (0, 24):
        return list(range(24))
    if opens < closes:
        return list(range(opens, closes))
    return [*range(opens, 24), *range(0, closes)]


def _hour_weights(hours: list[int]) -> np.ndarray:
    """Busier in the middle of the opening hours, and by day for shops open all the time."""
    if len(hours) == 24:
        weights = np.array([0.3 if h < 7 else 1.0 for h in hours])
    else:
        position = np.linspace(0.0, np.pi, len(hours))
        weights = 0.4 + np.sin(position)
    return weights / weights.sum()


def make_transactions(
    n_rows: int = 5000,
    anomaly_fraction: float = 0.02,
    seed: int = 0,
    start: str = "2024-03-04",
    days: int = 56,
) -> tuple[pd.DataFrame, pd.Series]:
    """Card transactions with planted anomalies of several kinds.

    Parameters
    ----------
    n_rows : int, default=5000
    anomaly_fraction : float, default=0.02
        Share of anomalous rows, split evenly over ``ANOMALY_KINDS``.
    seed : int, default=0
    start : str, default="2024-03-04"
        First day of the period.
    days : int, default=56

    Returns
    -------
    frame : pandas.DataFrame
        Columns ``transaction_id`` (text id), ``customer_id`` (text), ``timestamp``
        (datetime64), ``merchant_category``, ``country``, ``currency`` (text),
        ``amount`` (float, in the currency), ``is_online`` (bool), ``entry_mode``
        (text, missing online), ``customer_age`` (integer, 5% missing; float dtype).
        Rows are in time order.
    kind : pandas.Series of str
        ``"normal"`` or the anomaly kind of each row (same index as ``frame``).
    """
    rng = np.random.default_rng(seed)
    n_customers = int(min(2000, max(20, n_rows // 10)))
    country_names = list(COUNTRIES)
    home = rng.choice(country_names, size=n_customers,
                      p=[COUNTRIES[c][0] for c in country_names])
    age = rng.integers(18, 86, size=n_customers)
    spend = rng.lognormal(0.0, 0.3, size=n_customers)
    customer = rng.integers(0, n_customers, size=n_rows)
    names = list(MERCHANTS)
    merchant = rng.choice(names, size=n_rows, p=[MERCHANTS[m][0] for m in names])
    country = home[customer].copy()
    abroad = rng.random(n_rows) < 0.1
    country[abroad] = rng.choice(country_names, size=int(abroad.sum()))
    hour = np.empty(n_rows, dtype=int)
    online = np.empty(n_rows, dtype=bool)
    log_amount = np.empty(n_rows)
    for name, (_, mu, sd, opens, closes, online_share) in MERCHANTS.items():
        rows = np.flatnonzero(merchant == name)
        hours = _open_hours(opens, closes)
        hour[rows] = rng.choice(hours, size=len(rows), p=_hour_weights(hours))
        online[rows] = rng.random(len(rows)) < online_share
        log_amount[rows] = rng.normal(mu, sd, size=len(rows))
    day = rng.integers(0, days, size=n_rows)
    second = rng.integers(0, 3600, size=n_rows)
    currency = np.array([COUNTRIES[c][1] for c in country], dtype=object)
    eur = np.exp(log_amount) * spend[customer]
    entry = rng.choice([m for m, _ in ENTRY_MODES], size=n_rows, p=[p for _, p in ENTRY_MODES])
    entry = np.where(online, None, entry).astype(object)
    customer_age = age[customer].astype(float)
    customer_age[rng.random(n_rows) < 0.05] = np.nan

    kind = np.full(n_rows, "normal", dtype=object)
    n_anomalies = round(anomaly_fraction * n_rows)
    planted = rng.choice(n_rows, size=n_anomalies, replace=False)
    for k, row in enumerate(planted):
        kind[row] = ANOMALY_KINDS[k % len(ANOMALY_KINDS)]
    for row in np.flatnonzero(kind == "extreme_amount"):
        eur[row] *= rng.uniform(20, 60)
    for row in np.flatnonzero(kind == "rare_combination"):
        currency[row] = rng.choice([c for c in EUR_TO if c != currency[row]])
    shops = [m for m in names if MERCHANTS[m][3:5] != (0, 24)]
    for row in np.flatnonzero(kind == "impossible_hour"):
        name = rng.choice(shops)
        _, mu, sd, opens, closes, _ = MERCHANTS[name]
        closed = sorted(set(range(24)) - set(_open_hours(opens, closes)))
        merchant[row], online[row] = name, False
        hour[row] = rng.choice([h for h in closed if 1 <= h <= 5] or closed)
        entry[row] = rng.choice([m for m, _ in ENTRY_MODES])
        eur[row] = np.exp(rng.normal(mu, sd)) * spend[customer[row]]
    for row in np.flatnonzero(kind == "missing_pattern"):
        name = rng.choice([m for m in names if MERCHANTS[m][5] < 0.5])
        merchant[row], online[row], entry[row] = name, False, None
    amount = np.round(eur * np.array([EUR_TO[c] for c in currency]), 2)
    timestamp = (pd.Timestamp(start) + pd.to_timedelta(day, unit="D")
                 + pd.to_timedelta(hour, unit="h") + pd.to_timedelta(second, unit="s"))

    frame = pd.DataFrame({
        "customer_id": [f"C{c:05d}" for c in customer],
        "timestamp": timestamp,
        "merchant_category": merchant.astype(object),
        "country": country.astype(object),
        "currency": currency,
        "amount": amount,
        "is_online": online,
        "entry_mode": entry,
        "customer_age": customer_age,
    })
    order = np.argsort(frame["timestamp"].to_numpy(), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    frame.insert(0, "transaction_id", [f"T{i:07d}" for i in range(1, n_rows + 1)])
    return frame, pd.Series(kind[order], name="kind")
