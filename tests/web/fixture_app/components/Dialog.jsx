import { useState } from "react";
import { Modal } from "@atoll/ui";
import "./Dialog.css";

export default function Dialog() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button id="open" onClick={() => setOpen(true)}>Open</button>
      <Modal open={open} onClose={() => setOpen(false)} className="dialog">
        <p id="modal-text">Hello from the modal</p>
        <button id="close" onClick={() => setOpen(false)}>Close</button>
      </Modal>
    </>
  );
}
