"""Admin pages for roles, constraints and their permissions.

Saving here fires the rule receivers, which bump the policy version, so an
edit applies from the next API request.
"""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from authz.models import (
    ADMIN_ROLE,
    FIELDS_BY_OBJECT_TYPE,
    Constraint,
    ConstraintPermission,
    Criterion,
    Role,
    RoleMembership,
)


class RoleMembershipInline(admin.TabularInline):
    model = RoleMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "mfa_required"]
    search_fields = ["name", "description"]
    inlines = [RoleMembershipInline]

    def get_readonly_fields(self, request, obj=None):
        # Superusers get the built-in role by its name, so renaming it would
        # silently remove their rights.
        if obj is not None and obj.name == ADMIN_ROLE:
            return ["name"]
        return []

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.name == ADMIN_ROLE:
            return False
        return super().has_delete_permission(request, obj)


class CriterionFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        remaining_forms = [
            form
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE", False)
        ]
        if not remaining_forms:
            raise ValidationError(
                "Add at least one criterion, because a constraint without "
                "criteria selects nothing."
            )


class CriterionInline(admin.TabularInline):
    model = Criterion
    formset = CriterionFormSet
    extra = 1


class ConstraintPermissionInline(admin.TabularInline):
    model = ConstraintPermission
    extra = 1
    autocomplete_fields = ["role", "user"]


@admin.register(Constraint)
class ConstraintAdmin(admin.ModelAdmin):
    list_display = ["name", "object_type", "description"]
    list_filter = ["object_type"]
    search_fields = ["name", "description"]
    inlines = [CriterionInline, ConstraintPermissionInline]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        lines = [
            f"{object_type}: {', '.join(fields)}"
            for object_type, fields in FIELDS_BY_OBJECT_TYPE.items()
        ]
        form.base_fields["object_type"].help_text = (
            "Criterion fields per type (object__type works for all): "
            + "; ".join(lines)
        )
        return form
