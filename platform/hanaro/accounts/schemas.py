from marshmallow import fields

from ..core.forms import FormSchema, length


class LoginForm(FormSchema):
    email = fields.String(required=True, validate=length(max=254))
    password = fields.String(required=True, validate=length(max=200))


class LanguageForm(FormSchema):
    lang = fields.String(required=True)
