// uPlot is vendored as its IIFE build (dashboard/vendor.py); pages load it with a classic deferred script before
// their modules, and modules import it from here.
const uPlot = window.uPlot;
if (!uPlot) throw new Error("uPlot did not load: run `make setup` (copies it into static/vendor)");
export default uPlot;
