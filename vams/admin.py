"""Admin for the catalog, and the authorization base class every admin uses.

The admin is the curators' workspace, so it calls ``authz_check`` with the same
objects and actions as the API. A page or action is offered only when the
matching API request would be allowed. Django's model permissions are not used.
"""

import logging

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from authz.enforcer import pin_request_state
from authz.services import authz_check
from vams.exceptions import DomainError
from vams.models import Asset, AssetFile, Database

logger = logging.getLogger(__name__)

admin.site.site_header = "VAMS Workflows administration"
admin.site.site_title = "VAMS Workflows"
admin.site.index_title = "Curation"


def pin_authz_state(request) -> None:
    """Read the rule version once per request, as the API's permission class does.

    Admin sessions carry no MFA claim, so roles that require MFA do not apply
    in the admin.
    """
    if not getattr(request, "_authz_pinned", False):
        pin_request_state(request.user, mfa_authenticated=False)
        request._authz_pinned = True


class AuthzModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose permissions are ``authz_check`` decisions.

    Without an object, a permission is the tier-1 decision on ``api_route``
    (the path of the equivalent API request). With an object it is the tier-2
    decision on ``authz_object(obj)``. Changelists drop the rows the user may
    not GET, as the API's list routes do.
    """

    api_route = "/"
    # Admin permission name -> HTTP method the API uses for the same request.
    permission_actions = {
        "view": "GET",
        "add": "PUT",
        "change": "PUT",
        "delete": "DELETE",
    }

    def authz_object(self, obj) -> dict:
        raise NotImplementedError(
            f"{type(self).__name__} must define authz_object(obj) returning the "
            "object dictionary that authz_check evaluates."
        )

    def is_allowed(self, request, obj, action: str) -> bool:
        """Return the decision on ``action`` for ``obj``, or for the route if None."""
        if obj is None:
            target = {"object__type": "api", "route__path": self.api_route}
        else:
            target = self.authz_object(obj)
        pin_authz_state(request)
        return authz_check(user=request.user, obj=target, action=action)

    def require_allowed(self, request, obj, action: str) -> None:
        """Raise PermissionDenied unless ``action`` on ``obj`` is allowed."""
        if not self.is_allowed(request, obj, action):
            logger.info(
                "Admin request denied user=%s action=%s object=%s",
                request.user.pk,
                action,
                obj,
            )
            raise PermissionDenied("Not Authorized")

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None) -> bool:
        return self.is_allowed(request, obj, self.permission_actions["view"])

    def has_add_permission(self, request) -> bool:
        return self.is_allowed(request, None, self.permission_actions["add"])

    def has_change_permission(self, request, obj=None) -> bool:
        return self.is_allowed(request, obj, self.permission_actions["change"])

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.is_allowed(request, obj, self.permission_actions["delete"])

    def get_queryset(self, request) -> QuerySet:
        queryset = self.get_unfiltered_queryset(request)
        # A changelist calls get_queryset more than once per request.
        cache = request.__dict__.setdefault("_authz_denied_pks", {})
        if self.model not in cache:
            # NOTE: every row is checked in Python, one authz_check per row, so a
            # changelist costs O(rows in the table), not O(rows on the page).
            cache[self.model] = [
                row.pk
                for row in queryset
                if not self.is_allowed(request, row, self.permission_actions["view"])
            ]
        denied = cache[self.model]
        if not denied:
            return queryset
        return queryset.exclude(pk__in=denied)

    def get_unfiltered_queryset(self, request) -> QuerySet:
        return super().get_queryset(request)

    def save_model(self, request, obj, form, change) -> None:
        # The route-level check ran before the form. This object-level check
        # covers the values being saved.
        self.require_allowed(request, obj, self.permission_actions["change"])
        super().save_model(request, obj, form, change)

    def report_domain_error(self, request, error: DomainError) -> None:
        """Show a service's error message as the API would return it."""
        self.message_user(request, error.message, messages.ERROR)


class SoftDeleteListFilter(admin.SimpleListFilter):
    """Show alive rows by default, and deleted or all rows on request."""

    title = "state"
    parameter_name = "state"
    default_value = "alive"

    def lookups(self, request, model_admin):
        return [("alive", "Alive"), ("deleted", "Deleted"), ("all", "All")]

    def value(self):
        return super().value() or self.default_value

    def queryset(self, request, queryset):
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "all":
            return queryset
        return queryset.filter(deleted_at__isnull=True)

    def choices(self, changelist):
        # The default "All" entry of SimpleListFilter would mean "alive" here, so
        # only the three explicit choices are offered.
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string(
                    {self.parameter_name: lookup}
                ),
                "display": title,
            }


@admin.register(Database)
class DatabaseAdmin(AuthzModelAdmin):
    api_route = "/database"
    list_display = ["database_id", "description", "asset_count", "date_created"]
    search_fields = ["database_id", "description"]
    readonly_fields = ["date_created"]

    def authz_object(self, obj: Database) -> dict:
        return {"object__type": "database", "databaseId": obj.database_id}

    def get_readonly_fields(self, request, obj=None):
        # The id is the primary key, so changing it would create a second database.
        if obj is not None:
            return [*self.readonly_fields, "database_id"]
        return self.readonly_fields

    @admin.display(description="Assets")
    def asset_count(self, obj: Database) -> int:
        return obj.assets.count()


class AssetFileInline(admin.TabularInline):
    model = AssetFile
    template = "admin/vams/asset/files_inline.html"
    fields = ["key", "size", "content_type", "source", "execution_id", "date_modified"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return True


class AssetAdminForm(forms.ModelForm):
    upload = forms.FileField(
        required=False,
        help_text=(
            "Stored in S3 under the asset's base key. Workflows that auto-trigger "
            "on this file's extension start after the save."
        ),
    )
    upload_path = forms.CharField(
        required=False,
        max_length=1024,
        help_text=(
            "Path of the uploaded file below the asset's base key, for example "
            "models/part.obj. Blank uses the uploaded file's name."
        ),
    )

    class Meta:
        model = Asset
        fields = [
            "database",
            "asset_id",
            "asset_name",
            "description",
            "asset_type",
            "tags",
            "is_distributable",
            "base_key",
            "preview_key",
        ]
        widgets = {"tags": forms.TextInput(attrs={"size": 60})}
        help_texts = {"tags": 'A JSON list of strings, for example ["chair", "oak"].'}


@admin.register(Asset)
class AssetAdmin(AuthzModelAdmin):
    api_route = "/assets"
    form = AssetAdminForm
    list_display = ["asset_id", "database", "asset_name", "asset_type", "file_count"]
    list_filter = ["database"]
    search_fields = ["asset_id", "asset_name", "description"]
    inlines = [AssetFileInline]
    fields = [*AssetAdminForm.Meta.fields, "upload", "upload_path"]

    def get_readonly_fields(self, request, obj=None):
        # The asset type follows the files, and the database and asset id are
        # the asset's key.
        if obj is not None:
            return ["database", "asset_id", "asset_type"]
        return ["asset_type"]

    def authz_object(self, obj: Asset) -> dict:
        from vams.assets import asset_authz_object

        return asset_authz_object(obj)

    @admin.display(description="Files")
    def file_count(self, obj: Asset) -> int:
        return obj.files.count()

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        upload = form.cleaned_data.get("upload")
        if upload is not None:
            self.add_uploaded_file(request, form.instance, upload, form.cleaned_data)

    def add_uploaded_file(self, request, asset: Asset, upload, cleaned_data) -> None:
        from vams.assets import asset_file_add

        relative_path = cleaned_data.get("upload_path") or upload.name
        try:
            asset_file = asset_file_add(
                asset=asset,
                relative_path=relative_path,
                content=upload.read(),
                user=request.user,
            )
        except DomainError as error:
            self.report_domain_error(request, error)
            return
        self.message_user(request, f"Uploaded {asset_file.key}.", messages.SUCCESS)
