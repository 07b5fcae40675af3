// The IDE page's first script: classic and in <head>, so it runs before the first paint and
// the page never flashes the other theme (ide.html; the policy allows no inline script).
import { applyTheme, followSystem, storedTheme } from "./theme.js";

applyTheme(storedTheme());
followSystem();
