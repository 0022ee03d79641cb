"""행정구역 for the national data set: the 17 provinces and their municipalities by name, the
Jeju regions of tenants/jeju-pilot.toml with their real codes, and generated 읍면동 under each
municipality. Codes follow the 10-digit 법정동 layout (2 province, 3 municipality, 3 dong, 00);
outside Jeju the municipality and dong numbers are laid out in order, not looked up."""
from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass, field

from ..config import REPO_ROOT

# (two-digit code, name, municipalities in the order of their codes)
PROVINCES = [
    ("11", "서울특별시", "종로구 중구 용산구 성동구 광진구 동대문구 중랑구 성북구 강북구 도봉구 노원구 은평구 서대문구 마포구 "
                      "양천구 강서구 구로구 금천구 영등포구 동작구 관악구 서초구 강남구 송파구 강동구"),
    ("26", "부산광역시", "중구 서구 동구 영도구 부산진구 동래구 남구 북구 해운대구 사하구 금정구 강서구 연제구 수영구 사상구 기장군"),
    ("27", "대구광역시", "중구 동구 서구 남구 북구 수성구 달서구 달성군 군위군"),
    ("28", "인천광역시", "중구 동구 미추홀구 연수구 남동구 부평구 계양구 서구 강화군 옹진군"),
    ("29", "광주광역시", "동구 서구 남구 북구 광산구"),
    ("30", "대전광역시", "동구 중구 서구 유성구 대덕구"),
    ("31", "울산광역시", "중구 남구 동구 북구 울주군"),
    ("36", "세종특별자치시", "세종특별자치시"),
    ("41", "경기도", "수원시 성남시 의정부시 안양시 부천시 광명시 평택시 동두천시 안산시 고양시 과천시 구리시 남양주시 오산시 "
                  "시흥시 군포시 의왕시 하남시 용인시 파주시 이천시 안성시 김포시 화성시 광주시 양주시 포천시 여주시 연천군 "
                  "가평군 양평군"),
    ("51", "강원특별자치도", "춘천시 원주시 강릉시 동해시 태백시 속초시 삼척시 홍천군 횡성군 영월군 평창군 정선군 철원군 화천군 "
                       "양구군 인제군 고성군 양양군"),
    ("43", "충청북도", "청주시 충주시 제천시 보은군 옥천군 영동군 증평군 진천군 괴산군 음성군 단양군"),
    ("44", "충청남도", "천안시 공주시 보령시 아산시 서산시 논산시 계룡시 당진시 금산군 부여군 서천군 청양군 홍성군 예산군 태안군"),
    ("52", "전북특별자치도", "전주시 군산시 익산시 정읍시 남원시 김제시 완주군 진안군 무주군 장수군 임실군 순창군 고창군 부안군"),
    ("46", "전라남도", "목포시 여수시 순천시 나주시 광양시 담양군 곡성군 구례군 고흥군 보성군 화순군 장흥군 강진군 해남군 "
                   "영암군 무안군 함평군 영광군 장성군 완도군 진도군 신안군"),
    ("47", "경상북도", "포항시 경주시 김천시 안동시 구미시 영주시 영천시 상주시 문경시 경산시 의성군 청송군 영양군 영덕군 "
                   "청도군 고령군 성주군 칠곡군 예천군 봉화군 울진군 울릉군"),
    ("48", "경상남도", "창원시 진주시 통영시 사천시 김해시 밀양시 거제시 양산시 의령군 함안군 창녕군 고성군 남해군 하동군 "
                   "산청군 함양군 거창군 합천군"),
    ("50", "제주특별자치도", "제주시 서귀포시"),
]
# Big provinces first: a small data set uses the first few.
PROVINCE_ORDER = ["41", "11", "26", "48", "28", "47", "27", "44", "46", "52", "43", "51", "30", "29", "31", "50", "36"]

DONG_STEMS = ("중앙 신 남 북 서 역 성내 대림 화정 행신 문정 가락 오금 상계 중계 하계 월계 신정 목 연희 망원 합정 "
              "공덕 도화 염리 대흥 신수 용강 서교 성산 상암 효자 평화 송정 청운 구산 갈산 장안 금호 옥수 행당 사직 "
              "교동 명륜 운암 산수 봉선 진월 월산 양림 학동 계림 풍향 두암 석곡 매곡 우산 신흥 대화 금곡").split()
RURAL_STEMS = "가곡 가산 금천 내동 대산 동산 백석 봉산 북면 산내 상동 서면 송산 신평 안산 양지 옥산 용산 월곡 장동 정곡 청림 하동 화산".split()


@dataclass
class Region:
    code: str
    name: str
    level: str
    parent_code: str | None = None
    children: list[str] = field(default_factory=list)


def province_code(two: str) -> str:
    return two + "00000000"


def _jeju_from_registry() -> list[Region]:
    data = tomllib.loads((REPO_ROOT / "tenants" / "jeju-pilot.toml").read_text(encoding="utf-8"))
    return [Region(r["code"], r["name"], r["level"], r.get("parent")) for r in data["regions"]]


def build() -> dict[str, Region]:
    """Every region, keyed by code, in insertion order (parents before children). Independent of
    the data set's size and seed, so every set has the same regions."""
    rng = random.Random("hanaro-scale-regions")
    regions: dict[str, Region] = {}

    def add(region: Region) -> None:
        if region.code not in regions:
            regions[region.code] = region
            if region.parent_code:
                regions[region.parent_code].children.append(region.code)

    jeju = {r.code: r for r in _jeju_from_registry()}
    for two, name, municipalities in PROVINCES:
        add(Region(province_code(two), name, "province"))
        for i, muni in enumerate(municipalities.split()):
            code = f"{two}{110 + 20 * i:03d}00000"
            add(jeju.get(code) or Region(code, muni, "municipality", province_code(two)))
    for region in jeju.values():  # the real Jeju dongs, before the generated ones
        add(Region(region.code, region.name, region.level, region.parent_code))
    for muni in [r for r in list(regions.values()) if r.level == "municipality"]:
        _add_dongs(add, regions, muni, rng)
    return regions


def _add_dongs(add, regions, muni: Region, rng: random.Random) -> None:
    rural = muni.name.endswith("군")
    wanted = rng.randint(6, 12) if rural else rng.randint(10, 22)
    stems = rng.sample(RURAL_STEMS if rural else DONG_STEMS, k=min(wanted, len(RURAL_STEMS if rural else DONG_STEMS)))
    base = muni.code[:5]
    for j, stem in enumerate(stems):
        if rural:
            suffix = "읍" if j == 0 else "면"
            code = f"{base}{250 + 10 * j:03d}00"
        else:
            suffix = "동" if rng.random() < 0.6 else f"{rng.randint(1, 3)}동"
            code = f"{base}{510 + 10 * j:03d}00"
        if code not in regions:
            add(Region(code, stem + suffix, "dong", muni.code))
