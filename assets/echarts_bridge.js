/*
 * ECharts bridge for Dash (our code; ECharts itself is served by the app at /vendor/echarts.min.js).
 *
 * window.dash_clientside.echarts.render(option, boxId, clickId) is the clientside callback registered in
 * dashboard/callbacks/shell.py for every chart triple made by layouts/_components.py:echarts():
 *   - init the chart once per Div, then setOption(option, true) on every new option;
 *   - option._geo = {name, geojson} registers the map (echarts.registerMap) before drawing;
 *   - option._keepView = true (a refresh of the chart already drawn) merges instead of replacing, keeping the
 *     user's zoom/pan of the geo component and the legend selection; series are replaced;
 *   - a click writes {name, seriesName, dataIndex, data, value, componentType, ts} into the click Store;
 *   - charts resize with their box and the window, and are disposed when their Div leaves the page.
 */
(function () {
    "use strict";

    var charts = {};          // DOM id -> {chart, clickId, observer}

    // The DOM id Dash gives a pattern-matching id: JSON with sorted keys.
    function domId(id) {
        if (typeof id === "string") { return id; }
        return "{" + Object.keys(id).sort().map(function (k) {
            return JSON.stringify(k) + ":" + JSON.stringify(id[k]);
        }).join(",") + "}";
    }

    function plain(value) {
        // Click payloads must be JSON; ECharts data items may hold references we do not want to send.
        if (value === undefined) { return null; }
        try { return JSON.parse(JSON.stringify(value)); } catch (e) { return null; }
    }

    function disposeGone() {
        Object.keys(charts).forEach(function (key) {
            var entry = charts[key];
            if (!entry.el.isConnected) {
                if (entry.observer) { entry.observer.disconnect(); }
                entry.chart.dispose();
                delete charts[key];
            }
        });
    }

    function ensureChart(el, key, clickId) {
        var entry = charts[key];
        if (entry && entry.el === el && !entry.chart.isDisposed()) {
            entry.clickId = clickId;
            return entry.chart;
        }
        if (entry) {                     // the page re-rendered the Div: drop the old instance
            if (entry.observer) { entry.observer.disconnect(); }
            if (!entry.chart.isDisposed()) { entry.chart.dispose(); }
        }
        var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el, null, {renderer: "canvas"});
        entry = {chart: chart, el: el, clickId: clickId, observer: null};
        chart.on("click", function (p) {
            var payload = {
                name: p.name === undefined ? null : p.name,
                seriesName: p.seriesName === undefined ? null : p.seriesName,
                dataIndex: p.dataIndex === undefined ? null : p.dataIndex,
                data: plain(p.data),
                value: plain(p.value),
                componentType: p.componentType || null,
                ts: Date.now()
            };
            if (window.dash_clientside && window.dash_clientside.set_props && entry.clickId) {
                window.dash_clientside.set_props(entry.clickId, {data: payload});
            }
        });
        if (window.ResizeObserver) {
            entry.observer = new ResizeObserver(function () {
                if (!chart.isDisposed()) { chart.resize(); }
            });
            entry.observer.observe(el);
        }
        charts[key] = entry;
        return chart;
    }

    function unregisteredMap(opt) {
        // The name of a map the option's geo components or map series use that ECharts does not know yet.
        var users = [].concat(opt.geo || [], opt.series || []);
        for (var i = 0; i < users.length; i++) {
            var name = users[i] && (users[i].type === undefined || users[i].type === "map") ? users[i].map : null;
            if (typeof name === "string" && !window.echarts.getMap(name)) { return name; }
        }
        return null;
    }

    function draw(option, boxId, clickId, attempt) {
        var key = domId(boxId);
        var el = document.getElementById(key);
        if (!el || !window.echarts) {
            // The Div or the library may not be there yet right after a page change: retry briefly.
            if ((attempt || 0) < 40) {
                setTimeout(function () { draw(option, boxId, clickId, (attempt || 0) + 1); }, 50);
            } else if (!window.echarts) {
                console.warn("echarts bridge: /vendor/echarts.min.js is not loaded");
            }
            return;
        }
        var chart = ensureChart(el, key, clickId);
        if (!option) { chart.clear(); return; }
        var opt = Object.assign({}, option);
        if (opt._geo) {
            if (opt._geo.name && opt._geo.geojson) {
                window.echarts.registerMap(opt._geo.name, opt._geo.geojson);
            }
            delete opt._geo;
        }
        var missing = unregisteredMap(opt);
        if (missing) {
            // A timed refresh (sent without the GeoJSON) answered before the page's first option, which brings
            // it, was drawn: ECharts would throw on the unknown map. Wait for the first option to register it.
            if ((attempt || 0) < 100) {
                setTimeout(function () { draw(option, boxId, clickId, (attempt || 0) + 1); }, 100);
            } else {
                console.warn("echarts bridge: map " + missing + " never registered");
            }
            return;
        }
        var keepView = opt._keepView === true;
        delete opt._keepView;
        var current = keepView ? chart.getOption() : null;
        if (current && current.series) {
            // A periodic refresh of the same map: merge so that the user's zoom/pan (the geo component's
            // center and zoom) and legend selection survive; the series are replaced as a whole.
            if (opt.geo) {
                opt.geo = (Array.isArray(opt.geo) ? opt.geo : [opt.geo]).map(function (g) {
                    var copy = Object.assign({}, g);
                    delete copy.center;
                    delete copy.zoom;
                    return copy;
                });
            }
            chart.setOption(opt, {notMerge: false, replaceMerge: ["series"]});
        } else {
            chart.setOption(opt, true);
        }
        el.setAttribute("data-rendered", String(Date.now()));
    }

    window.addEventListener("resize", function () {
        Object.keys(charts).forEach(function (key) {
            var chart = charts[key].chart;
            if (!chart.isDisposed()) { chart.resize(); }
        });
    });

    // Dispose charts whose Div was removed by a page change, at once: a chart left alive for even a moment keeps
    // animating (the reform map's flow lines) on a detached zero-size canvas and the browser reports drawImage
    // errors. The check is a few isConnected reads per DOM mutation (a page holds a handful of charts).
    var observer = new MutationObserver(function () {
        if (Object.keys(charts).length) { disposeGone(); }
    });
    function watch() { observer.observe(document.body, {childList: true, subtree: true}); }
    if (document.body) { watch(); } else { document.addEventListener("DOMContentLoaded", watch); }

    window.dash_clientside = window.dash_clientside || {};
    window.dash_clientside.echarts = {
        render: function (option, boxId, clickId) {
            draw(option, boxId, clickId, 0);
            return option ? "echarts-box echarts-ready" : "echarts-box";
        },
        // For tests and debugging: how many live charts the bridge holds.
        count: function () { disposeGone(); return Object.keys(charts).length; }
    };
}());
