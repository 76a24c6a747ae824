from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import add_never_cache_headers


class DanishFirstLocaleMiddleware(LocaleMiddleware):
    """Danish unless the user chose another language with the switch in the page header. The
    browser's Accept-Language is not consulted: shared municipal PCs are often set up in English,
    and the staff still work in Danish."""

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class NoStoreWhenSignedInMiddleware:
    """Every response to a signed-in user is sent with Cache-Control: no-store. Pages, htmx fragments and
    exports can all show a citizen's data, and the PCs in a health centre are shared: after logging out, the
    back button or the browser's cache must not show the last person's worklist. One rule for all responses,
    so that a new view cannot forget it. Static files are served by WhiteNoise before this runs and stay
    cacheable; the login page, seen by nobody signed in, too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response
