import { useEffect, useRef } from "react";
import Chart from "chart.js/auto";

export default function SalesChart({ sales = [] }) {
  const canvas = useRef(null);
  useEffect(() => {
    const chart = new Chart(canvas.current, {
      type: "bar",
      data: {
        labels: sales.map((s) => s.month),
        datasets: [{ label: "Sales (EUR)", data: sales.map((s) => s.total) }],
      },
    });
    return () => chart.destroy();
  }, [sales]);
  return <canvas ref={canvas} aria-label="Monthly sales" />;
}
