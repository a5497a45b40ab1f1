"""Custom classifiers (``nlpserve train classifier``): held-out accuracy against examples per label.

Two labelled sets built here, neither a public benchmark:

- **domains**: our intent phrasings regrouped into CLINC150's ten domains (banking, credit cards, kitchen and
  dining, home, auto and commute, travel, utility, work, small talk, meta; the grouping of Larson et al., 2019).
  Training pool: ``data/train/intent_train.jsonl`` (out-of-scope left out); evaluation: the intent held-out
  set's test split, regrouped the same way.
- **kind of text**: the six kinds of our sentiment training texts (support messages, service reviews, product
  reviews, media reviews, news, social posts; ``data/train/sentiment_train_{A,B}.jsonl``), split 70 / 30 by
  kind with a fixed seed: training pool / evaluation.

For k in (5, 10, 25, 100) examples per label, drawn from the pool with three seeds, a classifier is trained by
the same code ``nlpserve train classifier`` runs (``custom.fit_head`` over the shipped encoder's embeddings, C by
cross-validation on the k-shot sample) and scored on the whole evaluation split. The peer, in the same run, is
what a user without an encoder would fit: scikit-learn TF-IDF (word 1-2 grams) + LogisticRegression, C by the
same cross-validation.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from . import custom
from .evaluate import HELDOUT
from .recipes import read_jsonl

DATA = HELDOUT.parent
SHOTS = (5, 10, 25, 100)
SEEDS = (0, 1, 2)

#: CLINC150's domains (Larson et al., 2019, "An Evaluation Dataset for Intent Classification and Out-of-Scope
#: Prediction"), 15 intents each.
DOMAINS: dict[str, tuple[str, ...]] = {
    "banking": ("transfer", "transactions", "balance", "freeze_account", "pay_bill", "bill_balance", "bill_due",
                "interest_rate", "routing", "min_payment", "order_checks", "pin_change", "report_fraud",
                "account_blocked", "spending_history"),
    "credit_cards": ("credit_score", "report_lost_card", "credit_limit", "rewards_balance", "new_card",
                     "application_status", "card_declined", "international_fees", "apr", "redeem_rewards",
                     "credit_limit_change", "damaged_card", "replacement_card_duration", "improve_credit_score",
                     "expiration_date"),
    "kitchen_dining": ("recipe", "restaurant_reviews", "calories", "nutrition_info", "restaurant_suggestion",
                       "ingredients_list", "ingredient_substitution", "cook_time", "food_last", "meal_suggestion",
                       "restaurant_reservation", "confirm_reservation", "how_busy", "cancel_reservation",
                       "accept_reservations"),
    "home": ("shopping_list", "shopping_list_update", "next_song", "play_music", "update_playlist", "todo_list",
             "todo_list_update", "calendar", "calendar_update", "what_song", "order", "order_status", "reminder",
             "reminder_update", "smart_home"),
    "auto_commute": ("traffic", "directions", "gas", "gas_type", "distance", "current_location", "mpg",
                     "oil_change_when", "oil_change_how", "jump_start", "uber", "schedule_maintenance",
                     "last_maintenance", "tire_pressure", "tire_change"),
    "travel": ("book_flight", "book_hotel", "car_rental", "travel_suggestion", "travel_alert",
               "travel_notification", "carry_on", "timezone", "vaccines", "translate", "flight_status",
               "international_visa", "lost_luggage", "plug_type", "exchange_rate"),
    "utility": ("time", "alarm", "share_location", "find_phone", "weather", "text", "spelling", "make_call",
                "timer", "date", "calculator", "measurement_conversion", "flip_coin", "roll_dice", "definition"),
    "work": ("direct_deposit", "pto_request", "taxes", "payday", "w2", "pto_balance", "pto_request_status",
             "next_holiday", "insurance", "insurance_change", "schedule_meeting", "pto_used", "meeting_schedule",
             "rollover_401k", "income"),
    "small_talk": ("greeting", "goodbye", "tell_joke", "where_are_you_from", "how_old_are_you",
                   "what_is_your_name", "who_made_you", "thank_you", "what_can_i_ask_you", "what_are_your_hobbies",
                   "do_you_have_pets", "are_you_a_bot", "meaning_of_life", "who_do_you_work_for", "fun_fact"),
    "meta": ("change_ai_name", "change_user_name", "cancel", "user_name", "reset_settings", "whisper_mode",
             "repeat", "no", "yes", "maybe", "change_language", "change_accent", "change_volume", "change_speed",
             "sync_device"),
}
DOMAIN_OF = {intent: domain for domain, intents in DOMAINS.items() for intent in intents}


def _examples(rows: list[dict], label_of) -> list[custom.Example]:
    out = []
    for i, r in enumerate(rows, 1):
        label = label_of(r)
        if label:
            out.append(custom.Example(r["text"], (label,), i))
    return out


def domain_set() -> tuple[list[custom.Example], list[custom.Example]]:
    pool = _examples(read_jsonl(DATA / "train" / "intent_train.jsonl"), lambda r: DOMAIN_OF.get(r["intent"]))
    test = _examples([r for r in read_jsonl(HELDOUT / "intent_heldout.jsonl") if r["split"] == "test"],
                     lambda r: DOMAIN_OF.get(r["intent"]))
    return pool, test


def kind_set(seed: int = 0) -> tuple[list[custom.Example], list[custom.Example]]:
    rows = [r for name in ("A", "B") for r in read_jsonl(DATA / "train" / f"sentiment_train_{name}.jsonl")]
    rng = np.random.default_rng(seed)
    pool, test = [], []
    by_kind: dict[str, list[dict]] = {}
    for r in rows:
        by_kind.setdefault(r["domain"], []).append(r)
    for kind in sorted(by_kind):
        group = by_kind[kind]
        order = rng.permutation(len(group))
        cut = int(round(len(group) * 0.7))
        pool += _examples([group[i] for i in order[:cut]], lambda r: r["domain"])
        test += _examples([group[i] for i in order[cut:]], lambda r: r["domain"])
    return pool, test


def _tfidf_peer(train: list[custom.Example], test: list[custom.Example], labels: list[str]) -> float:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    x = vec.fit_transform([e.text for e in train])
    y = np.array([labels.index(e.labels[0]) for e in train])
    k = int(min(5, np.bincount(y).min()))
    search = GridSearchCV(LogisticRegression(max_iter=2000), {"C": list(custom.C_GRID)}, scoring="f1_macro",
                          cv=StratifiedKFold(k, shuffle=True, random_state=0))
    search.fit(x, y)
    pred = search.predict(vec.transform([e.text for e in test]))
    return float((pred == np.array([labels.index(e.labels[0]) for e in test])).mean())


def learning_curve(name: str, pool: list[custom.Example], test: list[custom.Example], embed_dir: Path, log) -> dict:
    labels = sorted({e.labels[0] for e in pool})
    texts = list(dict.fromkeys([e.text for e in pool] + [e.text for e in test]))
    log(f"[custom] {name}: embedding {len(texts)} texts")
    vectors = dict(zip(texts, custom.embed_texts(texts, embed_dir)))
    x_test = np.stack([vectors[e.text] for e in test])
    y_test = np.array([labels.index(e.labels[0]) for e in test])
    rows = {}
    for k in SHOTS:
        ours, peer, macro = [], [], []
        for seed in SEEDS:
            train = custom.subsample(pool, k, seed)
            fitted = custom.fit_head(np.stack([vectors[e.text] for e in train]), train, labels, False, seed)
            probs = custom.head_probabilities(fitted, x_test)
            held = custom.report(fitted, probs, test)
            ours.append(float((probs.argmax(axis=1) == y_test).mean()))
            macro.append(held["macro_f1"])
            peer.append(_tfidf_peer(train, test, labels))
        rows[str(k)] = {"ours_accuracy": round(float(np.mean(ours)), 4), "ours_accuracy_sd": round(float(np.std(ours)), 4),
                        "ours_macro_f1": round(float(np.mean(macro)), 4),
                        "tfidf_accuracy": round(float(np.mean(peer)), 4), "train_texts": len(train)}
        log(f"[custom] {name} k={k}: ours {rows[str(k)]['ours_accuracy']:.3f}, TF-IDF {rows[str(k)]['tfidf_accuracy']:.3f}")
    return {"labels": len(labels), "pool": len(pool), "test": len(test), "by_examples_per_label": rows}


def evaluate_custom(models_dir: Path, log) -> dict:
    started = time.perf_counter()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    embed_dir = Path(models_dir) / "embed"
    out = {"domains": learning_curve("domains", *domain_set(), embed_dir, log),
           "kind_of_text": learning_curve("kind of text", *kind_set(), embed_dir, log),
           "seeds": list(SEEDS)}
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out
