/*
 * 指挥中心大屏 /screen, browser side (our code): the wall's font scale, pause/resume of the rotation on a click,
 * the clock, and a discreet lost-connection marker.
 *
 * Connection: every Dash request (/_dash-*) that fails on the network or answers 5xx marks the wall offline
 * (class screen-offline on .screen-root shows "连接中断，正在重试"); the next good answer clears it. The failed
 * answer is not handed on to Dash (the promise stays pending), so the panels keep what they show and no error
 * appears. A 401 (session ended, device revoked) is left to session_expiry.js: back to the login page.
 */
(function () {
    "use strict";

    function root() { return document.querySelector(".screen-root"); }

    window.dash_clientside = window.dash_clientside || {};
    window.dash_clientside.screen = {
        // wall units: CSS pixels per design pixel of the 1920×1080 layout (the same rule as --u in screen.css)
        scale: function () {
            return Math.round(Math.min(window.innerWidth / 1920, window.innerHeight / 1080) * 1000) / 1000;
        },
        pause: function (nClicks) {
            var paused = (nClicks || 0) % 2 === 1;
            return [paused, paused ? "screen-root is-paused" : "screen-root"];
        }
    };

    function pad(n) { return n < 10 ? "0" + n : String(n); }
    // the county's wall time (MART_TIMEZONE, as every time the platform shows), whatever the wall PC's own zone;
    // the fields of the returned Date are read as they are (getHours() is the county's hour)
    function countyTime(zone) {
        var now = new Date();
        if (!zone || !window.Intl) { return now; }
        try {
            var p = {};
            new Intl.DateTimeFormat("en-US", {timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric",
                day: "numeric", hour: "numeric", minute: "numeric", second: "numeric"})
                .formatToParts(now).forEach(function (x) { p[x.type] = x.value; });
            return new Date(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
        } catch (e) { return now; }
    }
    setInterval(function () {
        var el = document.getElementById("screen-clock");
        if (!el) { return; }
        var d = countyTime(el.getAttribute("data-tz"));
        var week = "日一二三四五六".charAt(d.getDay());
        el.textContent = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " 周" + week +
            " " + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
    }, 1000);

    if (!window.fetch) { return; }
    var originalFetch = window.fetch;

    function isDash(input) {
        var url = typeof input === "string" ? input : (input && input.url) || "";
        return url.indexOf("/_dash-") !== -1;
    }
    function mark(offline) {
        var el = root();
        if (el) { el.classList.toggle("screen-offline", offline); }
    }

    window.fetch = function (input, init) {
        var promise = originalFetch.apply(this, arguments);
        if (!isDash(input) || !root()) { return promise; }
        return promise.then(function (response) {
            if (response.status >= 500) {
                mark(true);
                return new Promise(function () {});
            }
            mark(false);
            return response;
        }, function () {
            mark(true);
            return new Promise(function () {});
        });
    };
}());
