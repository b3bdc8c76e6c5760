"""A realistic synthetic credit-scoring table, shaped like the public ``CreditScoring``
table (applicants of a bank: seniority, home, loan term, age, marital status, records,
job, expenses, income, assets, debt, amount asked, price of the purchase).

Columns hang together as they do in such data: seniority (years in the job) is at most
the years since 16, younger applicants rent or live with their parents, expenses grow
with the household, income with seniority and the job, assets with age and owning a
home, the amount asked is a share of the price, and income, assets and debt have gaps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HOMES = ("owner", "rent", "parents", "priv", "other")
MARITAL = ("married", "single", "separated", "widow", "divorced")
JOBS = ("fixed", "freelance", "partime", "others")


def make_credit(n_rows: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Applicants of a bank, without planted anomalies.

    Parameters
    ----------
    n_rows : int, default=4000
    seed : int, default=0

    Returns
    -------
    pandas.DataFrame
        ``Seniority, Home, Time, Age, Marital, Records, Job, Expenses, Income, Assets,
        Debt, Amount, Price``; integers (with gaps in ``Income``, ``Assets``, ``Debt``)
        and text categories.

    Examples
    --------
    >>> frame = make_credit(500)
    >>> frame.shape, bool((frame["Seniority"] <= frame["Age"] - 16).all())
    ((500, 13), True)
    """
    rng = np.random.default_rng(seed)
    n = n_rows
    age = np.clip(rng.gamma(9.0, 4.2, n) + 18, 18, 75).round()
    seniority = np.floor((age - 16) * rng.beta(1.4, 2.6, n))
    young = age < 30
    home_p = np.where(young[:, None], [0.2, 0.35, 0.35, 0.05, 0.05],
                      [0.6, 0.22, 0.05, 0.08, 0.05])
    home = np.array([HOMES[rng.choice(5, p=p)] for p in home_p])
    married_p = np.clip((age - 20) / 25, 0.05, 0.8)
    marital = np.where(rng.random(n) < married_p, "married",
                       rng.choice(["single", "separated", "widow", "divorced"], n,
                                  p=[0.75, 0.1, 0.05, 0.1]))
    job = rng.choice(JOBS, n, p=[0.63, 0.23, 0.10, 0.04])
    records = rng.choice(["no", "yes"], n, p=[0.83, 0.17])
    time = rng.choice([12, 24, 36, 48, 60], n, p=[0.1, 0.15, 0.2, 0.2, 0.35])
    household = 1 + (marital == "married") + rng.poisson(0.8, n) * (age > 25)
    expenses = (35 + 15 * household + rng.normal(0, 6, n)).round().clip(35, 180)
    job_pay = {"fixed": 1.0, "freelance": 1.15, "partime": 0.55, "others": 0.8}
    income = (np.array([job_pay[j] for j in job]) * (90 + 4.0 * seniority)
              * rng.lognormal(0, 0.25, n)).round()
    owner = home == "owner"
    assets = np.where(owner, (age - 18) * 220 * rng.lognormal(0, 0.5, n),
                      rng.exponential(1500, n) * (rng.random(n) < 0.4)).round(-2)
    debt = np.where(rng.random(n) < 0.2, rng.exponential(1200, n), 0.0).round(-1)
    price = (600 + 6 * income * rng.lognormal(0, 0.35, n)).round(-1)
    amount = (price * rng.uniform(0.5, 0.95, n)).round(-1)
    frame = pd.DataFrame({
        "Seniority": seniority, "Home": home, "Time": time, "Age": age,
        "Marital": marital, "Records": records, "Job": job, "Expenses": expenses,
        "Income": income, "Assets": assets, "Debt": debt, "Amount": amount, "Price": price,
    })
    for column, share in (("Income", 0.03), ("Assets", 0.02), ("Debt", 0.02)):
        frame.loc[rng.random(n) < share, column] = np.nan
    integer = ["Seniority", "Time", "Age", "Expenses", "Income", "Assets", "Debt", "Amount",
               "Price"]
    return frame.astype({c: "Int64" for c in integer})
