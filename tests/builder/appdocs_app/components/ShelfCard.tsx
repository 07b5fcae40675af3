interface ShelfCardProps {
  /** The shelf's name. */
  name: string;
  /** Books shown at most. */
  max?: number;
}

/** A shelf with its books. */
export default function ShelfCard({ name, max = 5 }: ShelfCardProps) {
  return <div>{name} {max}</div>;
}
