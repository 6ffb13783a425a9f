/*
 * Session expiry while a page is open (our code).
 *
 * When the server-side session ends (idle timeout, 12 h lifetime, logout in another tab, password reset, role
 * change), Dash's requests answer 401 (dashboard/accounts/web.py: _gate). Without this script the page keeps its
 * stale figures and only the browser console knows. Here every fetch to Dash's endpoints (/_dash-*) that answers
 * 401 sends the browser to the login page with the current path and query as ``next`` (a relative path, which
 * the login form validates), so that after logging in the user is back where they were.
 *
 * The 401 answer is not handed on to Dash (the promise stays pending while the page leaves), so Dash shows no
 * callback error for it.
 */
(function () {
    "use strict";

    if (!window.fetch || window.__sessionExpiryInstalled) { return; }
    window.__sessionExpiryInstalled = true;

    var originalFetch = window.fetch.bind(window);
    var leaving = false;

    function isDashRequest(input) {
        var url = typeof input === "string" ? input : (input && input.url) || "";
        try {
            var parsed = new URL(url, window.location.href);
            return parsed.origin === window.location.origin && parsed.pathname.indexOf("/_dash-") !== -1;
        } catch (e) {
            return false;
        }
    }

    function loginUrl() {
        var here = window.location.pathname + window.location.search;
        return "/login?next=" + encodeURIComponent(here) + "&expired=1";
    }

    window.fetch = function (input, init) {
        var promise = originalFetch(input, init);
        if (!isDashRequest(input)) { return promise; }
        return promise.then(function (response) {
            if (response.status !== 401) { return response; }
            if (!leaving) {
                leaving = true;
                window.location.assign(loginUrl());
            }
            return new Promise(function () {});   // the page is leaving: Dash never sees the 401
        });
    };
}());
