"""401 messages of the token routes and of bearer-authenticated routes."""

import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import make_user
from vams.api import exception_handler

PASSWORD = "correct-horse-battery"


@pytest.fixture
def user(db):
    user = make_user("reader")
    user.set_password(PASSWORD)
    user.save()
    return user


def test_auth_messages_login_succeeds(anonymous_client, user):
    response = anonymous_client.post(
        "/auth/token/", {"username": "reader", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert "access" in response.json()


def test_auth_messages_wrong_password(anonymous_client, user):
    response = anonymous_client.post(
        "/auth/token/", {"username": "reader", "password": "wrong"}, format="json"
    )

    assert response.status_code == 401
    assert response.json() == {"message": exception_handler.LOGIN_FAILED}
    assert response.json() == {
        "message": "Invalid username or password, or the account is inactive."
    }


def test_auth_messages_unknown_user(anonymous_client, db):
    response = anonymous_client.post(
        "/auth/token/", {"username": "nobody", "password": "wrong"}, format="json"
    )

    assert response.status_code == 401
    assert response.json() == {"message": exception_handler.LOGIN_FAILED}


def test_auth_messages_inactive_account(anonymous_client, user):
    user.is_active = False
    user.save()

    response = anonymous_client.post(
        "/auth/token/", {"username": "reader", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 401
    assert response.json() == {"message": exception_handler.LOGIN_FAILED}


def test_auth_messages_login_without_slash(anonymous_client, user):
    response = anonymous_client.post(
        "/auth/token", {"username": "reader", "password": "wrong"}, format="json"
    )

    assert response.status_code == 401
    assert response.json() == {"message": exception_handler.LOGIN_FAILED}


def test_auth_messages_bad_refresh_token(anonymous_client, db):
    response = anonymous_client.post(
        "/auth/token/refresh/", {"refresh": "not-a-token"}, format="json"
    )

    assert response.status_code == 401
    assert response.json() == {"message": exception_handler.REFRESH_TOKEN_INVALID}
    assert response.json() == {
        "message": (
            "The refresh token is invalid or expired; "
            "log in again at POST /auth/token/."
        )
    }


def test_auth_messages_access_token_as_refresh(anonymous_client, user):
    access = str(RefreshToken.for_user(user).access_token)

    response = anonymous_client.post(
        "/auth/token/refresh/", {"refresh": access}, format="json"
    )

    assert response.status_code == 401
    assert response.json() == {"message": exception_handler.REFRESH_TOKEN_INVALID}


def test_auth_messages_valid_refresh_token(anonymous_client, user):
    refresh = str(RefreshToken.for_user(user))

    response = anonymous_client.post(
        "/auth/token/refresh/", {"refresh": refresh}, format="json"
    )

    assert response.status_code == 200
    assert "access" in response.json()


def test_auth_messages_bad_bearer_token(anonymous_client, db):
    anonymous_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = anonymous_client.get("/workflows")

    assert response.status_code == 401
    assert response.json() == {"message": exception_handler.BEARER_TOKEN_INVALID}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_auth_messages_missing_bearer_token(anonymous_client, db):
    response = anonymous_client.get("/workflows")

    assert response.status_code == 401
    assert response.json() == {"message": exception_handler.CREDENTIALS_MISSING}
