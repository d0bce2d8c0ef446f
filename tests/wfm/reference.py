#!/usr/bin/env python3
"""High-precision reference values for tests/wfm/erlang_test.cc, computed with mpmath
(Debian python3-mpmath) at 60 significant digits by formulas independent of the C++ code:

- Erlang B from the upper incomplete gamma function, B(n, A) = A^n e^-A / Γ(n+1, A)
  (no recursion); Erlang C = n B / (n − A(1 − B)); SL(t) = 1 − C e^{−(nμ−λ)t}; ASA = C/(nμ−λ).
- Erlang A (M/M/n+M) from the closed forms of Garnett, Mandelbaum & Reiman (2002) and
  Mandelbaum & Zeltyn (2007), with x = λ/γ, y = nμ/γ:
    S = ₁F₁(1; y+1; x) (mpmath hyp1f1),  P(wait) = B S / (1 − B + B S),
    P(ab | wait) = 1/(ρS) + 1 − 1/ρ with ρ = x/y,
    P(answered within t | wait) = [γ(y+1, x) − γ(y+1, x e^{−γt})] / (x γ(y, x))   (gammainc),
    E[V; served | wait] = (yγ/S) ∫_0^∞ u·exp(x(1 − e^{−γu}) − γ(y+1)u) du            (quad),
  the C++ code uses series of positive terms instead.

Run: python3 tests/wfm/reference.py   (prints the C++ table rows pasted into erlang_test.cc)
"""
import mpmath as mp

mp.mp.dps = 60

# (servers n, calls per second λ, AHT s, answer within t s): Erlang C cases.
C_CASES = [
    (14, mp.mpf(100) / 1800, 180, 20),       # the classic: 100 calls / 30 min, 3 min, 80/20
    (1, mp.mpf(1) / 600, 120, 10),
    (55, mp.mpf(50) / 60, 60, 15),
    (300, mp.mpf(2) / 1, 140, 30),
    (3050, mp.mpf(3000) / 180, 180, 20),     # A = 3,000 Erlangs
    (3200, mp.mpf(3000) / 180, 180, 20),
]

# (n, λ, AHT, t, patience s): Erlang A cases.
A_CASES = [
    (14, mp.mpf(100) / 1800, 180, 20, 120),
    (12, mp.mpf(100) / 1800, 180, 20, 60),
    (8, mp.mpf(100) / 1800, 180, 20, 300),    # understaffed: n < A
    (1, mp.mpf(1) / 600, 120, 10, 30),
    (55, mp.mpf(50) / 60, 60, 15, 90),
    (3000, mp.mpf(3000) / 180, 180, 20, 180),  # A = 3,000 Erlangs, n = A
    (3050, mp.mpf(3000) / 180, 180, 20, 600),
    (2900, mp.mpf(3000) / 180, 180, 20, 90),   # understaffed by 100
]


def erlang_b(n, a):
    return a ** n * mp.exp(-a) / mp.gammainc(n + 1, a)


def erlang_c(n, lam, aht, t):
    a = lam * aht
    b = erlang_b(n, a)
    c = n * b / (n - a * (1 - b))
    rate = (n - a) / aht
    return b, c, 1 - c * mp.exp(-rate * t), c / rate


def erlang_a(n, lam, aht, t, patience):
    a = lam * aht
    g = 1 / mp.mpf(patience)
    x, y = lam / g, n * patience / mp.mpf(aht)
    b = erlang_b(n, a)
    s = mp.hyp1f1(1, y + 1, x)
    p_wait = b * s / (1 - b + b * s)
    rho = x / y
    ab_wait = 1 / (rho * s) + 1 - 1 / rho
    lower = lambda s_, z: mp.gammainc(s_, 0, z)
    ans_wait = (lower(y + 1, x) - lower(y + 1, x * mp.exp(-g * t))) / (x * lower(y, x))
    sl = 1 - p_wait + p_wait * ans_wait
    f = lambda u: u * mp.exp(x * (1 - mp.exp(-g * u)) - g * (y + 1) * u)
    # Split at the integrand's bulk so quad sees its scale.
    scale = 1 / (n / mp.mpf(aht) + g)
    pts = [0] + [scale * k for k in (1, 4, 16, 64, 256)] + [mp.inf]
    wait_served = (y * g / s) * mp.quad(f, pts)
    p_ab = p_wait * ab_wait
    asa = p_wait * wait_served / (1 - p_ab)
    return p_wait, sl, asa, p_ab


def fmt(v):
    return mp.nstr(v, 17, min_fixed=-mp.inf, max_fixed=mp.inf) if v != 0 else "0.0"


if __name__ == "__main__":
    print("// Erlang C: {n, λ, aht, t, B, C, SL, ASA}")
    for n, lam, aht, t in C_CASES:
        b, c, sl, asa = erlang_c(n, lam, aht, t)
        print(f"    {{{n}, {fmt(lam)}, {aht}, {t}, {fmt(b)}, {fmt(c)}, {fmt(sl)}, {fmt(asa)}}},")
    print("// Erlang A: {n, λ, aht, t, patience, P(wait), SL, ASA, P(abandon)}")
    for n, lam, aht, t, pat in A_CASES:
        pw, sl, asa, pab = erlang_a(n, lam, aht, t, pat)
        print(f"    {{{n}, {fmt(lam)}, {aht}, {t}, {pat}, {fmt(pw)}, {fmt(sl)}, {fmt(asa)}, {fmt(pab)}}},")
