"""Plausible Korean names, phone numbers and short texts, drawn from a caller's Random."""
from __future__ import annotations

import base64
import random

SURNAMES = "김 김 김 김 이 이 이 박 박 최 정 강 조 윤 장 임 한 오 서 신 권 황 안 송 류 홍 전 고 문 양 손 배 백 허 남".split()
GIVEN = ("민 서 지 현 수 영 준 우 호 진 은 하 윤 재 성 경 희 숙 자 순 철 용 석 혁 훈 미 정 연 주 아 예 도 건 태 "
         "상 동 광 명 옥 춘 복 말 금 남 순 덕 기 범 찬 율 온 솔 린").split()
STREETS = "중앙로 시민로 공원로 역전로 새마을로 복지로 평화로 문화로 희망로 한마음길 소망길 햇살길 느티나무길 은행나무길".split()


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)


def phone(rng: random.Random) -> str:
    return f"010-{rng.randint(2000, 9999)}-{rng.randint(1000, 9999)}"


def address(rng: random.Random, place: str) -> str:
    return f"{place} {rng.choice(STREETS)} {rng.randint(1, 300)}"


def public_id(rng: random.Random) -> str:
    """Like core.db.new_public_id (16 URL-safe characters, a letter or digit first), from ``rng``."""
    while True:
        value = base64.urlsafe_b64encode(rng.getrandbits(96).to_bytes(12, "big")).decode()
        if value[0].isalnum():
            return value
