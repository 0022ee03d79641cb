"""The kinds of notification, what users call them, and who gets them by e-mail by default.

Every ``notify(..., kind=...)`` in the code base should use a kind listed here; a kind that is not
listed still reaches the in-app inbox but is never e-mailed. ``roles``: when a notification is
addressed to a whole tenant (no ``recipient_user_id``), the e-mail goes to the active members
holding one of these roles (tenant administrators when nobody does), not to every member.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ..tenancy.models import Role


@dataclass(frozen=True)
class Kind:
    code: str
    group: object  # a lazy string: the settings screen's heading
    label: object  # a lazy string: "when ..." on the settings screen
    email_default: bool
    roles: tuple[Role, ...]


_REFERRAL = _l("서비스 의뢰")
_CASE = _l("사례관리")
_CLIENT = _l("대상자 정보 공유")
_RESOURCE = _l("자원")
_PILOT = _l("시범사업")
_CAMPAIGN = _l("자원배분")
_OVERSIGHT = _l("지도점검")
_MEMBERS = _l("구성원 관리")
_AGREEMENT = _l("정보공유 협약")
_AGREEMENT_ROLES = (Role.TENANT_ADMIN,)
_OVERSIGHT_ROLES = (Role.INSPECTOR, Role.TENANT_ADMIN)
_REFERRAL_ROLES = (Role.REFERRAL_COORDINATOR, Role.CASE_MANAGER, Role.TENANT_ADMIN)
_CASE_ROLES = (Role.CASE_MANAGER, Role.TENANT_ADMIN)
_RESOURCE_ROLES = (Role.RESOURCE_REGISTRAR, Role.TENANT_ADMIN)

KINDS: dict[str, Kind] = {k.code: k for k in (
    Kind("referral_received", _REFERRAL, _l("서비스 의뢰를 받았을 때"), True, _REFERRAL_ROLES),
    Kind("referral_answered", _REFERRAL, _l("보낸 의뢰에 답이 오거나 받은 의뢰가 철회되었을 때"), True, _REFERRAL_ROLES),
    Kind("referral_overdue", _REFERRAL, _l("의뢰 응답 기한이 다가오거나 지났을 때"), True, _REFERRAL_ROLES),
    Kind("referral_completed", _REFERRAL, _l("의뢰한 서비스가 종결되었을 때"), True, _REFERRAL_ROLES),
    Kind("referral_message", _REFERRAL, _l("의뢰에 새 메시지가 왔을 때"), True, _REFERRAL_ROLES),
    Kind("case_invitation", _CASE, _l("사례관리 협업 초대를 받았을 때"), True, _CASE_ROLES),
    Kind("case_invitation_accepted", _CASE, _l("보낸 협업 초대가 수락되었을 때"), False, _CASE_ROLES),
    Kind("case_invitation_declined", _CASE, _l("보낸 협업 초대가 거절되었을 때"), False, _CASE_ROLES),
    Kind("case_member_left", _CASE, _l("협업 기관이 사례 팀에서 나갔을 때"), False, _CASE_ROLES),
    Kind("case_member_removed", _CASE, _l("우리 기관이 사례 팀에서 제외되었을 때"), False, _CASE_ROLES),
    Kind("case_closed", _CASE, _l("함께하던 사례가 종결되었을 때"), False, _CASE_ROLES),
    Kind("case_reopened", _CASE, _l("함께하던 사례가 다시 열렸을 때"), False, _CASE_ROLES),
    Kind("consent_withdrawn", _CLIENT, _l("정보제공 동의 철회로 공유가 중단되었을 때"), True,
         (Role.CASE_MANAGER, Role.REFERRAL_COORDINATOR, Role.TENANT_ADMIN)),
    Kind("resource_verify_soon", _RESOURCE, _l("자원 정보 확인 기한이 다가올 때"), False, _RESOURCE_ROLES),
    Kind("resource_stale", _RESOURCE, _l("확인하지 않은 자원 정보가 숨겨졌을 때"), False, _RESOURCE_ROLES),
    Kind("oversight_inspection", _OVERSIGHT, _l("지도점검 일정이 잡히거나 취소되었을 때"), True, _OVERSIGHT_ROLES),
    Kind("oversight_result", _OVERSIGHT, _l("지도점검 결과가 통보되었을 때"), True, _OVERSIGHT_ROLES),
    Kind("oversight_action_answered", _OVERSIGHT, _l("시설이 시정 조치 결과를 제출했을 때"), True, _OVERSIGHT_ROLES),
    Kind("oversight_action_decided", _OVERSIGHT, _l("제출한 조치 결과가 확인되거나 보완 요구되었을 때, 기한이 바뀌었을 때"),
         True, _OVERSIGHT_ROLES),
    Kind("oversight_action_overdue", _OVERSIGHT, _l("시정 조치 기한이 지났을 때"), True, _OVERSIGHT_ROLES),
    Kind("oversight_sanction", _OVERSIGHT, _l("행정처분이 등록되거나 정정되었을 때"), True, _OVERSIGHT_ROLES),
    Kind("campaign_invitation", _CAMPAIGN, _l("자원배분 추천 요청을 받았을 때"), True, _REFERRAL_ROLES),
    Kind("campaign_result", _CAMPAIGN, _l("추천한 가구의 배분 결과가 확정되었을 때"), True, _REFERRAL_ROLES),
    Kind("member_invitation_answered", _MEMBERS, _l("보낸 구성원 초대가 수락되거나 거절되었을 때"), False,
         (Role.TENANT_ADMIN,)),
    Kind("agreement_proposed", _AGREEMENT, _l("다른 기관이 협약을 제안했을 때"), True, _AGREEMENT_ROLES),
    Kind("agreement_answered", _AGREEMENT, _l("협약 제안이 수락, 거절 또는 철회되었을 때"), True, _AGREEMENT_ROLES),
    Kind("agreement_ended", _AGREEMENT, _l("협약이 해지되거나 기간이 끝났을 때"), True, _AGREEMENT_ROLES),
    Kind("pilot_feedback", _PILOT, _l("보낸 현장 의견의 처리 상태가 바뀌거나 답글이 달렸을 때"), True,
         (Role.PILOT_COORDINATOR, Role.TENANT_ADMIN)),
)}


def groups() -> list[tuple[str, list[Kind]]]:
    """The kinds by heading, in the order above (for the settings screen)."""
    grouped: dict[str, list[Kind]] = {}
    for kind in KINDS.values():
        grouped.setdefault(str(kind.group), []).append(kind)
    return list(grouped.items())
