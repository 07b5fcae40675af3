import { useEffect, useState } from "react";
import { call } from "@atoll/ui";

export default function Fetcher() {
  const [text, setText] = useState("waiting");
  useEffect(() => {
    call("echo", { query: { q: "from a component" } }).then(
      (reply) => setText(reply.q),
      (err) => setText(`failed: ${err.message}`),
    );
  }, []);
  return <p id="fetched">{text}</p>;
}
