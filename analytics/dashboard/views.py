"""The pages only render templates: every figure on them comes from the REST API and the
WebSockets, fetched by the page's own module, so a client program can get it too."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView


class Page(TemplateView):
    """A page: its template and the module that fills it in."""

    module = ""

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        return {**super().get_context_data(**kwargs), "module": self.module}


class SignedInPage(LoginRequiredMixin, Page):
    """A page of the signed-in user's own data (anonymous visitors go to sign in)."""


class SignInView(auth_views.LoginView):
    template_name = "dashboard/signin.html"
    redirect_authenticated_user = True
