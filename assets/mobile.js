/*
 * Phones (our code): the header's 菜单 button opens and closes the navigation panel (assets/zz_mobile.css); choosing
 * a page or tapping outside closes it again. Delegated listeners, so that the shell's re-renders need no setup.
 */
(function () {
    "use strict";
    document.addEventListener("click", function (event) {
        var root = document.querySelector(".app-root");
        if (!root) { return; }
        var target = event.target;
        if (target.closest && target.closest(".nav-burger")) {
            var open = !root.classList.contains("nav-open");
            root.classList.toggle("nav-open", open);
            target.closest(".nav-burger").setAttribute("aria-expanded", String(open));
            return;
        }
        if (root.classList.contains("nav-open") && (!target.closest || !target.closest(".side-nav") ||
                target.closest("a"))) {
            root.classList.remove("nav-open");
        }
    });
}());
