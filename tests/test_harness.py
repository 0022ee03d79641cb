"""The harness itself: each test starts from an empty database, whatever earlier tests wrote."""
import pytest
from sqlalchemy import func, select

from hanaro.accounts.models import User, UserSession
from hanaro.core.db import db


@pytest.mark.parametrize("round_", [1, 2])
def test_writes_of_one_test_are_gone_in_the_next(app, signed_in, round_):
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0
    signed_in("viewer")  # commits a user, a membership and a server-side session
